// A stand-in for the provider in local demos: yields canned deltas on a timer.
export async function* fakeDeltas(text) {
  for (const word of text.split(' ')) {
    await new Promise((r) => setTimeout(r, 20));
    yield word + ' ';
  }
}

export function startFake(text, sink) {
  void (async () => {
    for await (const d of fakeDeltas(text)) sink(d);
  })();
}
