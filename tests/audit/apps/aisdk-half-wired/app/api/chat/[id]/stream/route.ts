// TODO: wire this to resumeExistingStream once we store the active stream id.
export async function GET() {
  return new Response(null, { status: 204 });
}
