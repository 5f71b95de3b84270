// ali-oss's multipartUpload against the local cloud's emulator, unchanged.
//
//   node tests/node/multipart_upload.mjs <endpoints.json> <file> <key> [v1|v4]
//
// The admin identity signs (ali-oss's V1 header signature, or V4 with `v4`). 100 KiB
// parts, 3 in parallel; ali-oss initiates, uploads the parts (reading each ETag header)
// and completes. Prints one JSON line: {"status", "etag", "parts", "progress"}
// (`parts`: progress reports seen, `progress`: the last one, 1 when done).
// Run from pytest: tests/e2e/test_multipart_ali_oss.py.
import { readFile } from 'node:fs/promises';

import OSS from 'ali-oss';

const [endpointsPath, file, key, signature = 'v1'] = process.argv.slice(2);
if (!endpointsPath || !file || !key || !['v1', 'v4'].includes(signature)) {
  console.error('usage: node multipart_upload.mjs <endpoints.json> <file> <key> [v1|v4]');
  process.exit(2);
}
const local = JSON.parse(await readFile(endpointsPath, 'utf8'));
const client = new OSS({
  region: `oss-${local.region}`,
  endpoint: local.oss_url,
  accessKeyId: local.admin_identity.access_key_id,
  accessKeySecret: local.admin_identity.access_key_secret,
  bucket: local.bucket,
  authorizationV4: signature === 'v4',
  retryMax: 0,
});
const progress = [];
const result = await client.multipartUpload(key, file, {
  partSize: 100 * 1024,
  parallel: 3,
  progress: fraction => { progress.push(fraction); },
});
console.log(JSON.stringify({
  status: result.res.status,
  etag: result.etag ?? result.res.headers.etag,
  parts: progress.length,
  progress: progress.at(-1),
}));
