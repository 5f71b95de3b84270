// Alibaba's server-signed upload flow with ali-oss, against the local cloud.
//
// A RAM user's long-term AccessKey calls AssumeRole on the upload role through ali-oss's
// own STS client (pointed at the STS stub by its `endpoint` option); the temporary
// credentials then sign a V4 PostObject policy (signPostObjectPolicyV4) that is posted to
// the emulator, and upload with `put` (V1 and V4 header signatures).
//
//   node tests/node/ram_user_upload.mjs <endpoints.json> <key prefix>
//
// Prints one JSON line describing what happened (never a secret); exits 1 on any error.
// Run from pytest (tests/e2e/test_ram_user_flow.py), which checks the stored objects.
import { readFile } from 'node:fs/promises';

import OSS from 'ali-oss';

const [endpointsPath, prefix] = process.argv.slice(2);
if (!endpointsPath || !prefix) {
  console.error('usage: node ram_user_upload.mjs <endpoints.json> <key prefix>');
  process.exit(2);
}
const local = JSON.parse(await readFile(endpointsPath, 'utf8'));
const ramUser = local.ram_user_identity;

async function assumeUploadRole() {
  const sts = new OSS.STS({
    accessKeyId: ramUser.access_key_id,
    accessKeySecret: ramUser.access_key_secret,
    endpoint: local.sts_url, // default https://sts.aliyuncs.com
  });
  const { credentials } = await sts.assumeRole(local.role_arn, '', 3600, 'ali-oss-session');
  return credentials;
}

function ossClient(credentials, extra = {}) {
  return new OSS({
    region: `oss-${local.region}`,
    // An IP-address endpoint: ali-oss requests /<key> and names the bucket in the Host
    // header (<bucket>.oss-<region>.aliyuncs.com), which the emulator reads as a
    // virtual-hosted request. (sldEnable would put the bucket in the path as well.)
    endpoint: local.oss_url,
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
    refreshSTSToken: async () => {
      const fresh = await assumeUploadRole();
      return {
        accessKeyId: fresh.AccessKeyId,
        accessKeySecret: fresh.AccessKeySecret,
        stsToken: fresh.SecurityToken,
      };
    },
    bucket: local.bucket,
    ...extra,
  });
}

function v4Date(date) {
  // 20260102T080000Z: the form signPostObjectPolicyV4 derives its signing date from.
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

async function postObject(client, credentials, key, body) {
  const date = new Date();
  const xOssDate = v4Date(date);
  const region = local.region;
  const credential = `${credentials.AccessKeyId}/${xOssDate.slice(0, 8)}/${region}/oss/aliyun_v4_request`;
  const policy = {
    expiration: new Date(date.getTime() + 10 * 60 * 1000).toISOString(),
    conditions: [
      { bucket: local.bucket },
      { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
      { 'x-oss-credential': credential },
      { 'x-oss-date': xOssDate },
      { 'x-oss-security-token': credentials.SecurityToken },
      ['eq', '$key', key],
      ['content-length-range', 1, 1024],
    ],
  };
  const form = new FormData();
  form.append('key', key);
  form.append('x-oss-signature-version', 'OSS4-HMAC-SHA256');
  form.append('x-oss-credential', credential);
  form.append('x-oss-date', xOssDate);
  form.append('x-oss-security-token', credentials.SecurityToken);
  form.append('policy', Buffer.from(JSON.stringify(policy), 'utf8').toString('base64'));
  form.append('x-oss-signature', client.signPostObjectPolicyV4(policy, date));
  form.append('file', new Blob([body], { type: 'text/plain' }), 'hello.txt');
  const answer = await fetch(local.post_url, { method: 'POST', body: form });
  const text = await answer.text();
  if (answer.status !== 204) {
    throw new Error(`PostObject answered ${answer.status}: ${text}`);
  }
  return { status: answer.status, key };
}

async function putObject(client, key, body) {
  const result = await client.put(key, Buffer.from(body, 'utf8'));
  return { status: result.res.status, key: result.name };
}

try {
  const credentials = await assumeUploadRole();
  const v1 = ossClient(credentials);
  const v4 = ossClient(credentials, { authorizationV4: true });
  const report = {
    assumed: {
      sts_key: credentials.AccessKeyId.startsWith('STS.'),
      expiration: credentials.Expiration,
    },
    post: await postObject(v1, credentials, `${prefix}post.txt`, 'posted by ali-oss'),
    put_v1: await putObject(v1, `${prefix}put-v1.txt`, 'put by ali-oss (V1)'),
    put_v4: await putObject(v4, `${prefix}put-v4.txt`, 'put by ali-oss (V4)'),
  };
  console.log(JSON.stringify(report));
} catch (error) {
  console.error(`ali-oss flow failed: ${error.code ?? ''} ${error.message}`);
  process.exit(1);
}
