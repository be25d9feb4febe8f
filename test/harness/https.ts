// A tiny HTTPS GET for readiness probes against the local API server, trusting its self-signed certificate.
import https from 'node:https';

export async function httpsGet(
  url: string,
  options: { ca: string; token: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: options.ca, headers: { Authorization: `Bearer ${options.token}` }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
  });
}
