// Child process for the protobuf tests: loads the codecs from the built package (dist/, by the
// package's own name), decodes each golden vector's json form and prints its encoding in every codec.
// Usage: node transcode-from-dist.mjs <fixtures dir> <vector name>...
import { readFileSync } from 'node:fs';
import { CborCodec } from 'spear-comm/codecs/cbor';
import { JsonCodec } from 'spear-comm/codecs/json';
import { ProtobufCodec } from 'spear-comm/codecs/protobuf';

const [dir, ...names] = process.argv.slice(2);
const json = new JsonCodec();
const codecs = [json, new CborCodec(), new ProtobufCodec()];
const out = {};
for (const name of names) {
  const message = json.decode(Buffer.from(readFileSync(`${dir}${name}.json.hex`, 'utf8').replace(/\s+/g, ''), 'hex'));
  for (const codec of codecs) out[`${name}.${codec.name}`] = Buffer.from(codec.encode(message)).toString('hex');
}
process.stdout.write(JSON.stringify(out));
