// ali-oss's calls against the local cloud, one row per call: the ali-oss side of the call
// table whose official-SDK side is tests/localcloud/test_sdk_call_table.py (its ROWS).
//
//   node tests/node/call_table.mjs <endpoints.json> <key prefix> [v1|v4]
//
// or with LOCALCLOUD_ENDPOINTS, CALL_TABLE_PREFIX and CALL_TABLE_SIGNATURE in the
// environment. The admin identity signs every call, with ali-oss's V1 header signature
// (its default) or, given `v4`, with `authorizationV4`.
//
// Each row works on an object of its own, `<prefix><call>/report 1.txt`. The caller may
// seed it (the pytest file does, with the official Python SDK, so it can compare what it
// stored with what it reads back); a missing one is seeded here with `put`. Around the
// call, the object is read with ali-oss (bytes, type, ETag, user metadata, ACL), and
// `object_intact` says whether the two reads are equal.
//
// Prints one JSON line per call, in order:
//   {"call", "status", "code", "object_intact", "result"}
// `status` is the HTTP status (null when ali-oss threw before any answer, then `error`
// says why), `code` the OSS error Code (null on success), `result` what the call returned
// that the caller can compare with its own reads (null when it failed). Never a secret.
// Exits 1 when the run itself cannot go on (unreadable endpoints, the object unreadable).
// Run from pytest: tests/e2e/test_ali_oss_call_table.py.
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';

import OSS from 'ali-oss';

const [argEndpoints, argPrefix, argSignature] = process.argv.slice(2);
const endpointsPath = argEndpoints ?? process.env.LOCALCLOUD_ENDPOINTS;
const prefix = argPrefix ?? process.env.CALL_TABLE_PREFIX ?? 'call-table/';
const signature = argSignature ?? process.env.CALL_TABLE_SIGNATURE ?? 'v1';
if (!endpointsPath || !['v1', 'v4'].includes(signature)) {
  console.error('usage: node call_table.mjs <endpoints.json> [<key prefix> [v1|v4]]');
  process.exit(2);
}
const local = JSON.parse(await readFile(endpointsPath, 'utf8'));
const admin = local.admin_identity;
const oss = new URL(local.oss_url);

// The seed every row starts from: the Python table's DATA, type and user metadata.
const DATA = Buffer.from('quarterly numbers\n'.repeat(50), 'utf8');
const SEED = { mime: 'text/csv', meta: { a: '1' } };
// What `put` writes (to another key) and `putMeta` sets.
const WRITTEN = Buffer.from('written by ali-oss\n', 'utf8');
const OWNER = { owner: 'alice' };
// An upload ID no upload has: the multipart calls on it are refused (404 NoSuchUpload).
const UPLOAD_ID = '0004B9894A22E5B1888A1E29F823';
const PART = Buffer.from('part');

function client(bucket, endpoint = local.oss_url) {
  return new OSS({
    region: `oss-${local.region}`,
    // An IP endpoint: ali-oss requests /<key> and names the bucket in the Host header,
    // which the emulator reads as virtual-hosted addressing.
    endpoint,
    accessKeyId: admin.access_key_id,
    accessKeySecret: admin.access_key_secret,
    bucket,
    authorizationV4: signature === 'v4',
    retryMax: 0,
  });
}

const uploads = client(local.bucket);
const page = client(local.web_bucket);
// signatureUrl refuses an IP endpoint ("can not get the object URL when endpoint is IP"):
// presigned URLs are made for http://<bucket>.localhost:<port>/<key>, a name the emulator
// reads as virtual-hosted too, and sent to the emulator's address with that Host.
const named = client(local.bucket, `http://localhost:${oss.port}`);

const dirOf = call => `${prefix}${call}/`;
const keyOf = call => `${dirOf(call)}report 1.txt`;

function userMeta(headers) {
  return Object.fromEntries(Object.entries(headers)
    .filter(([name]) => name.startsWith('x-oss-meta-'))
    .map(([name, value]) => [name.slice('x-oss-meta-'.length), value])
    .sort(([a], [b]) => a.localeCompare(b)));
}

// What ali-oss reads of an object: null when it does not exist.
async function snapshot(key) {
  let got;
  try {
    got = await uploads.get(key);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
  const { headers } = got.res;
  const { acl } = await uploads.getACL(key);
  return JSON.stringify({
    body: got.content.toString('base64'),
    type: headers['content-type'],
    etag: headers.etag,
    meta: userMeta(headers),
    acl,
  });
}

async function seed(key) {
  if ((await snapshot(key)) === null) await uploads.put(key, DATA, SEED);
}

// GET a presigned URL as a browser would: its host names the bucket.
function fetchSigned(signed) {
  const url = new URL(signed);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: oss.hostname,
      port: oss.port,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: { Host: url.host },
    }, res => {
      const chunks = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function xmlCode(body) {
  const found = /<Code>([^<]*)<\/Code>/.exec(String(body));
  return found ? found[1] : null;
}

// A call that resolves with the HTTP answer in `res` (ali-oss's usual shape). Most calls
// throw on an error status; processObjectSave sets no success statuses and resolves, its
// error document then in `res.data`.
function ok(res, result = {}) {
  if (res.status >= 300) {
    return { status: res.status, code: xmlCode(res.data ?? ''), result: null };
  }
  return { status: res.status, result };
}

// The answer of a call whose result holds nothing to compare beyond its status.
const answered = async call => ok((await call).res);

// Each row: [call, (key, dir) => {status, code?, result}]; a thrown ali-oss error is an
// answer too (see run).
const ROWS = [
  // --- what the Python table serves ---------------------------------------------------
  ['put', async (key, dir) => {
    const { res } = await uploads.put(`${dir}new.txt`, WRITTEN,
      { mime: 'text/plain', meta: OWNER });
    return ok(res, { etag: res.headers.etag });
  }],
  ['get', async key => {
    const { res, content } = await uploads.get(key);
    return ok(res, { body: content.toString('utf8'), type: res.headers['content-type'],
      etag: res.headers.etag, meta: userMeta(res.headers) });
  }],
  ['get (range)', async key => {
    const { res, content } = await uploads.get(key, { headers: { Range: 'bytes=0-9' } });
    return ok(res, { body: content.toString('utf8'), range: res.headers['content-range'] });
  }],
  ['head', async key => {
    const { res } = await uploads.head(key);
    return ok(res, { type: res.headers['content-type'], etag: res.headers.etag,
      meta: userMeta(res.headers) });
  }],
  ['getObjectMeta', async key => {
    const { res } = await uploads.getObjectMeta(key);
    return ok(res, { etag: res.headers.etag, size: Number(res.headers['content-length']) });
  }],
  ['copy (same bucket)', async (key, dir) => {
    const { res, data } = await uploads.copy(`${dir}copy.txt`, key);
    return ok(res, { etag: data.etag });
  }],
  ['copy (other bucket)', async (key, dir) => {
    const { res, data } = await page.copy(`${dir}copy.txt`, key, local.bucket);
    return ok(res, { etag: data.etag });
  }],
  ['putMeta (copy onto itself)', async key => {
    const { res, data } = await uploads.putMeta(key, OWNER);
    return ok(res, { etag: data.etag });
  }],
  ['getACL', async key => {
    const { res, acl } = await uploads.getACL(key);
    return ok(res, { acl });
  }],
  ['putACL', key => answered(uploads.putACL(key, 'public-read'))],
  ['list', async (key, dir) => {
    const { res, objects } = await uploads.list({ prefix: dir });
    return ok(res, { names: objects.map(o => o.name) });
  }],
  ['listV2', async (key, dir) => {
    const { res, objects } = await uploads.listV2({ prefix: dir });
    return ok(res, { names: objects.map(o => o.name) });
  }],
  ['deleteMulti', async (key, dir) => {
    await uploads.put(`${dir}extra.txt`, WRITTEN);
    const { res, deleted } = await uploads.deleteMulti([`${dir}extra.txt`, `${dir}missing.txt`]);
    return ok(res, { deleted: deleted.map(d => d.Key) });
  }],
  ['delete', key => answered(uploads.delete(key))],
  ['signatureUrl (V1 GET)', async key => {
    const answer = await fetchSigned(named.signatureUrl(key, { expires: 600 }));
    return signedAnswer(answer);
  }],
  ['signatureUrlV4 (GET)', async key => {
    const answer = await fetchSigned(await named.signatureUrlV4('GET', 600, undefined, key));
    return signedAnswer(answer);
  }],
  // --- the rest: 501 (not offered), refused as OSS refuses, or served (the Python table) -
  ['get (versionId)', key => answered(uploads.get(key, { versionId: 'CAEQ' }))],
  ['delete (versionId)', key => answered(uploads.delete(key, { versionId: 'CAEQ' }))],
  ['get (process)', key => answered(uploads.get(key, { process: 'image/resize,w_10' }))],
  ['append', key => answered(uploads.append(key, Buffer.from('more'), { position: 0 }))],
  ['putObjectTagging', key => answered(uploads.putObjectTagging(key, { stage: 'final' }))],
  ['getObjectTagging', key => answered(uploads.getObjectTagging(key))],
  ['deleteObjectTagging', key => answered(uploads.deleteObjectTagging(key))],
  ['putSymlink', (key, dir) => answered(uploads.putSymlink(key, `${dir}other.txt`))],
  ['getSymlink', key => answered(uploads.getSymlink(key))],
  ['restore', key => answered(uploads.restore(key))],
  ['processObjectSave', (key, dir) =>
    answered(uploads.processObjectSave(key, `${dir}out.jpg`, 'image/resize,w_10'))],
  ['initMultipartUpload', key => answered(uploads.initMultipartUpload(key))],
  ['uploadPart', key => answered(uploads.uploadPart(key, UPLOAD_ID, 1, PART, 0, PART.length))],
  ['uploadPartCopy', key => answered(uploads.uploadPartCopy(key, UPLOAD_ID, 1, '0-9',
    { sourceKey: key, sourceBucketName: local.bucket }))],
  ['completeMultipartUpload', key => answered(uploads.completeMultipartUpload(key,
    UPLOAD_ID, [{ number: 1, etag: '"3858F62230AC3C915F300C664312C11F"' }]))],
  ['abortMultipartUpload', key => answered(uploads.abortMultipartUpload(key, UPLOAD_ID))],
  ['listParts', key => answered(uploads.listParts(key, UPLOAD_ID))],
  ['listUploads', (key, dir) => answered(uploads.listUploads({ prefix: dir }))],
  ['listObjectVersions', (key, dir) => answered(uploads.listObjectVersions({ prefix: dir }))],
  ['getBucketACL', () => answered(uploads.getBucketACL(local.bucket))],
  ['putBucketACL', () => answered(uploads.putBucketACL(local.bucket, 'public-read'))],
  ['getBucketInfo', () => answered(uploads.getBucketInfo(local.bucket))],
  ['getBucketLocation', () => answered(uploads.getBucketLocation(local.bucket))],
  ['deleteBucket', () => answered(uploads.deleteBucket(local.bucket))],
  ['listBuckets', () => answered(uploads.listBuckets())],
];

function signedAnswer({ status, body }) {
  if (status >= 300) return { status, code: xmlCode(body), result: null };
  return { status, result: { body: body.toString('utf8') } };
}

async function run([call, act]) {
  const key = keyOf(call);
  await seed(key);
  const before = await snapshot(key);
  const line = { call, status: null, code: null, object_intact: null, result: null };
  try {
    const answer = await act(key, dirOf(call));
    line.status = answer.status;
    line.code = answer.code ?? null;
    line.result = answer.result;
  } catch (error) {
    if (typeof error.status !== 'number' || error.status < 100) {
      line.error = `${error.name}: ${error.message}`;
    } else {
      line.status = error.status;
      line.code = error.code ?? null;
    }
  }
  line.object_intact = (await snapshot(key)) === before;
  return line;
}

try {
  for (const row of ROWS) {
    console.log(JSON.stringify(await run(row)));
  }
} catch (error) {
  console.error(`call table stopped: ${error.code ?? ''} ${error.message}`);
  process.exit(1);
}
