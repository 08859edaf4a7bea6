// An ordinary Express app: JSON routes for todos and login, a welcome mail sent without waiting.
// No model is called and nothing streams, so every verdict must be `undetermined`.
import express from "express";
import { sendWelcomeMail } from "./lib/mail.js";

const app = express();
app.use(express.json());
const todos = new Map();
let nextId = 1;

app.post("/api/login", (req, res) => {
  const { email } = req.body;
  void sendWelcomeMail(email); // fire-and-forget: not a model producer outliving a request
  res.json({ token: Buffer.from(email).toString("base64") });
});

app.get("/api/todos", (req, res) => {
  res.json([...todos.values()]);
});

app.post("/api/todos", (req, res) => {
  const todo = { id: nextId++, title: req.body.title, done: false };
  todos.set(todo.id, todo);
  res.status(201).json(todo);
});

app.post("/api/todos/:id/cancel", (req, res) => {
  todos.delete(Number(req.params.id));
  res.status(204).end();
});

app.listen(3000);
