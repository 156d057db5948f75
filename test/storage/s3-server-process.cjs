// A real S3-protocol server (s3rver) for the storage tests, in its own process so a test can
// kill and restart it. argv: <data dir> <port or 0> <bucket>. Prints "listening <port>".
// It checks SigV4 signatures against its one key pair, S3RVER / S3RVER.
const S3rver = require('@20minutes/s3rver');

const [dir, port, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: [{ name: bucket }],
});
server.run().then(
  (addr) => process.stdout.write(`listening ${addr.port}\n`),
  (e) => {
    process.stderr.write(`s3rver failed: ${e.message}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
