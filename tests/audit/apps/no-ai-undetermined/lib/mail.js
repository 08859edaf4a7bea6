import nodemailer from "nodemailer";

const transport = nodemailer.createTransport({ host: "localhost", port: 1025 });

export async function sendWelcomeMail(to) {
  await transport.sendMail({ from: "todo@example.com", to, subject: "Welcome", text: "Hello!" });
}
