/**
 * SigV4 against the worked examples in AWS's S3 documentation ("Signature calculations for the
 * Authorization header"): example key AKIAIOSFODNN7EXAMPLE, 2013-05-24, bucket examplebucket.
 * And the XML reading the S3 client relies on.
 */
import { describe, expect, it } from 'vitest';
import { xmlBlocks, xmlDecode, xmlEncode, xmlRoot, xmlText } from '../../core/storage/s3-xml.ts';
import { EMPTY_SHA256, encodeKeyPath, sha256Hex, signRequest } from '../../core/storage/sigv4.ts';

const key = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
};
const when = new Date('2013-05-24T00:00:00Z');
const sign = (method: string, url: string, headers: Record<string, string>, payloadHash = EMPTY_SHA256) =>
  signRequest({ method, url: new URL(url), headers, payloadHash }, key, when);

describe('SigV4 (AWS S3 documentation examples)', () => {
  it('GET Object with a Range header', () => {
    const h = sign('GET', 'https://examplebucket.s3.amazonaws.com/test.txt', { Range: 'bytes=0-9' });
    expect(h.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(h['x-amz-date']).toBe('20130524T000000Z');
    expect(h.host).toBeUndefined(); // fetch sends it
  });

  it('PUT Object with a body and a key that needs encoding', () => {
    const body = 'Welcome to Amazon S3.';
    expect(sha256Hex(body)).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const url = `https://examplebucket.s3.amazonaws.com/${encodeKeyPath('test$file.text')}`;
    const h = sign(
      'PUT',
      url,
      { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      sha256Hex(body),
    );
    expect(h.authorization).toMatch(
      /SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd$/,
    );
  });

  it('GET with a bare sub-resource and with sorted query parameters', () => {
    expect(sign('GET', 'https://examplebucket.s3.amazonaws.com/?lifecycle', {}).authorization).toMatch(
      /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/,
    );
    expect(
      sign('GET', 'https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J', {}).authorization,
    ).toMatch(/Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/);
    // Any other secret gives another signature.
    const other = signRequest(
      {
        method: 'GET',
        url: new URL('https://examplebucket.s3.amazonaws.com/?lifecycle'),
        headers: {},
        payloadHash: EMPTY_SHA256,
      },
      { ...key, secretAccessKey: 'x' },
      when,
    );
    expect(other.authorization).not.toMatch(/fea454ca/);
  });

  it('signs temporary credentials’ session token', () => {
    const h = signRequest(
      { method: 'GET', url: new URL('https://b.s3.amazonaws.com/k'), headers: {}, payloadHash: EMPTY_SHA256 },
      { ...key, sessionToken: 'TOKEN' },
      when,
    );
    expect(h['x-amz-security-token']).toBe('TOKEN');
    expect(h.authorization).toMatch(
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
    );
  });
});

describe('S3 XML reading', () => {
  const listing = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>p/tg-1/a&amp;b.png</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><Size>42</Size></Contents>
<Contents><Key>p/tg-2/c.png</Key><Size>7</Size></Contents>
<CommonPrefixes><Prefix>p/tg-1/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>p/tg-2/</Prefix></CommonPrefixes>
</ListBucketResult>`;

  it('reads repeated blocks, decoded texts and the root element', () => {
    const contents = xmlBlocks(listing, 'Contents');
    expect(contents.map((c) => xmlText(c, 'Key'))).toEqual(['p/tg-1/a&b.png', 'p/tg-2/c.png']);
    expect(xmlText(contents[0], 'LastModified')).toBe('2026-01-02T03:04:05.000Z');
    expect(xmlText(contents[1], 'LastModified')).toBeUndefined();
    expect(xmlBlocks(listing, 'CommonPrefixes').map((c) => xmlText(c, 'Prefix'))).toEqual([
      'p/tg-1/',
      'p/tg-2/',
    ]);
    expect(xmlText(listing, 'NextContinuationToken')).toBe('1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=');
    expect(xmlRoot(listing)).toBe('ListBucketResult');
    expect(xmlRoot('<Error><Code>InternalError</Code></Error>')).toBe('Error');
    expect(xmlBlocks('<A><Quiet/></A>', 'Quiet')).toEqual(['']);
    // An element whose name starts like another is not confused with it.
    expect(xmlText('<Prefixes>x</Prefixes><Prefix>y</Prefix>', 'Prefix')).toBe('y');
  });

  it('decodes and encodes entities', () => {
    expect(xmlDecode('&lt;a&gt; &quot;&apos; &#65;&#x42; &amp;amp;')).toBe('<a> "\' AB &amp;');
    expect(xmlEncode(`<k&"'>`)).toBe('&lt;k&amp;&quot;&apos;&gt;');
  });
});
