// The links' data-path scratch is shared by every link in the process (no
// per-session buffers). A nested use — a receive hook that synchronously
// sends, and the peer link decrypting that frame before the hook returns —
// must not overwrite the packet the outer hook is still looking at, and the
// frames must decrypt correctly in both directions, before and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipPacket, makePair, toHex } from '../helpers/ppp-harness.js';
import type { LinkHooks } from '../../src/ppp/types.js';

const hooksOf = (l: unknown) => (l as { hooks: LinkHooks }).hooks;

test('a synchronous echo inside onIp leaves the outer packet intact (shared scratch, nested use)', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'running');

  const request = ipPacket('10.0.0.2', '10.0.0.1', 'request: the outer packet, must survive');
  const reply = ipPacket('10.0.0.1', '10.0.0.2', 'REPLY! a different payload of another length');
  const seenAfterNested: string[] = [];
  const clientGot: string[] = [];
  hooksOf(p.client.link).onIp = (pkt) => clientGot.push(toHex(pkt));
  hooksOf(p.server.link).onIp = (pkt) => {
    const before = toHex(pkt);
    // Nested: server encrypts (tx scratch), client decrypts (rx scratch) right now.
    p.server.link.sendIp(reply);
    p.client.link.input(p.server.sent.at(-1)!);
    seenAfterNested.push(before === toHex(pkt) ? 'intact' : 'clobbered');
  };
  p.client.link.sendIp(request);
  p.client.link.sendIp(request);
  // Deliver the client's two frames to the server synchronously (not through the queue).
  const frames = p.client.sent.slice(-2);
  for (const f of frames) p.server.link.input(f);
  assert.deepEqual(seenAfterNested, ['intact', 'intact']);
  assert.deepEqual(clientGot, [toHex(reply), toHex(reply)]);

  // Unnested traffic afterwards still decrypts (the busy flags were released).
  const plain: string[] = [];
  hooksOf(p.server.link).onIp = (pkt) => plain.push(toHex(pkt));
  p.client.link.sendIp(request);
  p.server.link.input(p.client.sent.at(-1)!);
  assert.deepEqual(plain, [toHex(request)]);
});

test('the busy flag is released when a hook throws', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  const request = ipPacket('10.0.0.2', '10.0.0.1', 'x'.repeat(100));
  hooksOf(p.server.link).onIp = () => {
    throw new Error('hook failed');
  };
  p.client.link.sendIp(request);
  p.server.link.input(p.client.sent.at(-1)!); // input() never throws: the link contains it
  const got: string[] = [];
  hooksOf(p.server.link).onIp = (pkt) => got.push(toHex(pkt));
  hooksOf(p.client.link).onIp = () => {};
  p.client.link.sendIp(request);
  p.server.link.input(p.client.sent.at(-1)!);
  assert.deepEqual(got, [toHex(request)]);
});
