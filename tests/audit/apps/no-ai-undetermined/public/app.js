// The browser side: the token is kept per tab; todos are fetched and posted as JSON.
const token = sessionStorage.getItem("token");
const controller = new AbortController();

export async function loadTodos() {
  const res = await fetch("/api/todos", { headers: { authorization: token }, signal: controller.signal });
  return res.json();
}

export function cancelLoad() {
  controller.abort();
}

export async function addTodo(title) {
  await fetch("/api/todos", { method: "POST", body: JSON.stringify({ title }) });
}
