import socketio

# One Redis-backed server shared by every handler module (handlers import it from here).
sio = socketio.AsyncServer(async_mode="asgi", client_manager=socketio.AsyncRedisManager("redis://localhost"))
asgi_app = socketio.ASGIApp(sio, static_files={"/": "static/index.html"})
