// Credentials in plain text in a pod template, judged with the Kubernetes context a generic scanner lacks.
//
// Provider key formats (AWS, Stripe, GitHub, Slack, private keys, …) come from secretlint's maintained rule set,
// run beforehand by secret-scan.ts because it is asynchronous; its verdicts arrive here as a map from scanned
// text to provider. This file adds what secretlint cannot know and stays pure:
// - where a value sits: env `value` (never `valueFrom`), `args` and `command` of every container, init
//   container and ephemeral container, including `--flag=value`, `-Dkey=value` and `--flag value` pairs;
// - what is not a credential even under a secret-sounding name: `$(VAR)` and `${VAR}` references, mounted-file
//   paths, secret-manager URIs, names of Secrets (`TLS_SECRET=envoy-ingress-tls`), identifiers and durations
//   (`ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster`, `TOKEN=3600s`), auth scheme words (`AUTH=oidc`);
// - passwords inside URLs and connection strings, which secretlint's basic-auth rule misses in most real
//   shapes (measured on test/corpus: `postgres://u:p@h/db`, `…;Password=…`, Azure `AccountKey=`);
// - a few provider formats the preset does not cover (measured on test/corpus; see providerPatterns);
// - placeholders and weak values (`changeme`, `123456`), which warn rather than block.
// A finding names the container, the field and the kind of credential, never the value or a slice of it.
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';

/** The kinds of credential finding; the policy sets each one's severity. */
export const credentialKinds = ['providerKey', 'urlPassword', 'secretByName', 'weakSecret', 'randomValue'] as const;
export type CredentialKind = (typeof credentialKinds)[number];

export const credentialSeverities = ['block', 'warn', 'off'] as const;
export type CredentialSeverity = (typeof credentialSeverities)[number];

export interface CredentialException {
  container: string;
  /** The env variable's name, or for args and command the option's name (e.g. `--db-password`). */
  env: string;
  reason: string;
}

export interface CredentialPolicy {
  severity: Record<CredentialKind, CredentialSeverity>;
  exceptions: readonly CredentialException[];
}

export const defaultCredentialPolicy: CredentialPolicy = {
  severity: {
    providerKey: 'block',
    urlPassword: 'block',
    secretByName: 'block',
    weakSecret: 'warn',
    randomValue: 'warn',
  },
  exceptions: [],
};

/** Text secretlint recognised, mapped to the provider's format in words ("a Stripe secret key"). */
export type ProviderMatches = ReadonlyMap<string, string>;

/** One place in the template a literal string sits. */
export interface Candidate {
  container: string;
  /** container, init container or ephemeral container. */
  containerKind: string;
  /** Full field path, e.g. spec.template.spec.containers[0].env[2].value. */
  field: string;
  /** The env name or the option name the value belongs to; undefined for free text. */
  name?: string | undefined;
  value: string;
}

export interface CredentialFinding {
  container: string;
  containerKind: string;
  field: string;
  name?: string | undefined;
  credential: CredentialKind;
  /** What was found, in words, never the value: "a Stripe secret key", "a password in a URL". */
  what: string;
  severity: Exclude<CredentialSeverity, 'off'>;
}

// ---------------------------------------------------------------------------------------------------------
// Where values sit

const containerLists = [
  ['containers', 'container'],
  ['initContainers', 'init container'],
  ['ephemeralContainers', 'ephemeral container'],
] as const;

const isString = (v: unknown): v is string => typeof v === 'string';

/** `--db-password=x`, `-Dspring.datasource.password=x`, `PASSWORD=x` inside an argument or a shell line. */
const assignmentPattern = /(?:^|[\s;&|'"(])-{0,2}(?:D)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s;&|'"]+)/g;

function argumentCandidates(
  at: { container: string; containerKind: string },
  base: string,
  list: readonly unknown[],
): Candidate[] {
  const { container, containerKind } = at;
  const out: Candidate[] = [];
  list.forEach((item, i) => {
    if (!isString(item)) return;
    const field = `${base}[${i}]`;
    out.push({ container, containerKind, field, value: item });
    for (const m of item.matchAll(assignmentPattern)) {
      const [, name = '', raw = ''] = m;
      out.push({
        container,
        containerKind,
        field,
        name: name.replace(/^D(?=[a-z])/, ''),
        value: raw.replace(/^["']|["']$/g, ''),
      });
    }
    // `--password hunter2`: the option in one item, its value in the next.
    const next = list[i + 1];
    if (/^--?[A-Za-z][\w.-]*$/.test(item) && isString(next) && !next.startsWith('-')) {
      out.push({ container, containerKind, field: `${base}[${i + 1}]`, name: item.replace(/^-+/, ''), value: next });
    }
  });
  return out;
}

/** Every literal string in env values, args and command, with where it sits. Tolerates any shape. */
export function credentialCandidates(template: V1PodTemplateSpec, prefix = 'spec.template.spec'): Candidate[] {
  const out: Candidate[] = [];
  const spec = template.spec as Record<string, unknown> | undefined;
  for (const [key, containerKind] of containerLists) {
    const list = spec?.[key];
    if (!Array.isArray(list)) continue;
    (list as unknown[]).forEach((raw, ci) => {
      if (raw === null || typeof raw !== 'object') return;
      const c = raw as Partial<V1Container> & Record<string, unknown>;
      const name = isString(c.name) ? c.name : `${key}[${ci}]`;
      const base = `${prefix}.${key}[${ci}]`;
      if (Array.isArray(c.env)) {
        (c.env as unknown[]).forEach((env, ei) => {
          if (env === null || typeof env !== 'object') return;
          const e = env as Record<string, unknown>;
          if (!isString(e.value)) return; // valueFrom: the value lives in a Secret or ConfigMap
          out.push({
            container: name,
            containerKind,
            field: `${base}.env[${ei}].value`,
            name: isString(e.name) ? e.name : undefined,
            value: e.value,
          });
        });
      }
      for (const listKey of ['command', 'args'] as const) {
        const items = c[listKey];
        if (Array.isArray(items))
          out.push(...argumentCandidates({ container: name, containerKind }, `${base}.${listKey}`, items));
      }
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// What a value is

/**
 * Provider formats the secretlint preset (13.1.0) does not report, measured on test/corpus: each was a miss
 * there. Anchored on the vendor's fixed prefix or structure, so they do not fire on ordinary settings.
 */
const providerPatterns: { what: string; pattern: RegExp }[] = [
  { what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/ },
  { what: 'a private key', pattern: /-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----/ },
  { what: 'a JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/ },
  { what: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { what: 'a Slack webhook URL', pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/_-]{20,}/ },
  { what: 'a Stripe key', pattern: /\b[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,}/ },
  { what: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})/ },
  { what: 'a GitLab token', pattern: /\bgl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|soat)-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Twilio API key', pattern: /\bSK[0-9a-zA-Z]{32}\b/ },
  { what: 'a SendGrid API key', pattern: /\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}/ },
  { what: 'a Mailchimp API key', pattern: /\b[0-9a-f]{32}-us[0-9]{1,2}\b/ },
  { what: 'a Mailgun API key', pattern: /\bkey-[0-9a-z]{32}\b/ },
  { what: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { what: 'a PyPI token', pattern: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/ },
  { what: 'a Shopify token', pattern: /\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b/ },
  { what: 'a DigitalOcean token', pattern: /\bdo[por]_v1_[a-f0-9]{64}\b/ },
  { what: 'a HashiCorp Vault token', pattern: /\bhv[sbr]\.[A-Za-z0-9_-]{24,}/ },
  {
    what: 'an Azure AD client secret',
    pattern: /(?:^|[^A-Za-z0-9~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/,
  },
  { what: 'a Facebook access token', pattern: /\bEAA[A-Za-z0-9]{80,}/ },
  { what: 'an age secret key', pattern: /\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b/ },
  { what: 'a Doppler token', pattern: /\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b/ },
  { what: 'a New Relic key', pattern: /\bNR(?:AK|AA|II|JS)-[A-Z0-9]{27}\b/ },
  { what: 'a Square token', pattern: /\b(?:EAAA|sq0atp-|sq0csp-)[A-Za-z0-9_-]{22,60}\b/ },
  { what: 'a Databricks token', pattern: /\bdapi[a-f0-9]{32}(?:-\d)?\b/ },
  { what: 'a Hugging Face token', pattern: /\bhf_[A-Za-z]{34}\b/ },
  { what: 'an OpenAI key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/ },
  { what: 'an Anthropic key', pattern: /\bsk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{80,}/ },
  { what: 'a Grafana token', pattern: /\b(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})/ },
  { what: 'a Postman API key', pattern: /\bPMAK-[A-Za-z0-9-]{50,}/ },
  { what: 'a Pulumi token', pattern: /\bpul-[a-z0-9]{40}\b/ },
  { what: 'a Linear API key', pattern: /\blin_api_[A-Za-z0-9]{40}\b/ },
  { what: 'an Atlassian API token', pattern: /\bATATT3[A-Za-z0-9_=-]{180,}/ },
  { what: 'a Sentry token', pattern: /\bsntry[su]_[A-Za-z0-9+/=_-]{40,}/ },
  { what: 'a Heroku API key', pattern: /\bHRKU-[A-Za-z0-9_-]{60}\b/ },
  { what: 'a Discord webhook URL', pattern: /discord(?:app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{40,}/ },
  { what: 'a Microsoft Teams webhook URL', pattern: /\.webhook\.office\.com\/webhookb2\/[A-Za-z0-9@-]{30,}/ },
  { what: 'a Telegram bot token', pattern: /\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b/ },
  { what: 'an Octopus Deploy API key', pattern: /\bAPI-[A-Z0-9]{26}\b/ },
  { what: 'a SonarQube token', pattern: /\bsq(?:p|u|a|co)_[A-Za-z0-9]{40,}/ },
  {
    what: 'a Discord bot token',
    pattern: /\b[MNOA][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/,
  },
  { what: 'a Netlify token', pattern: /\bnfp_[A-Za-z0-9]{36}\b/ },
  { what: 'a Notion token', pattern: /\b(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{40,})\b/ },
  { what: 'a Pinecone key', pattern: /\bpcsk_[A-Za-z0-9_]{50,}/ },
  { what: 'a PlanetScale credential', pattern: /\bpscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,}/ },
  { what: 'a Portainer token', pattern: /\bptr_[A-Za-z0-9_-]{32,}/ },
  { what: 'a PostHog key', pattern: /\bph[xc]_[A-Za-z0-9_]{39,}/ },
  { what: 'a Prefect key', pattern: /\bpnu_[A-Za-z0-9]{36}\b/ },
  { what: 'a Razorpay key', pattern: /\brzp_(?:live|test)_[A-Za-z0-9]{14,}\b/ },
  { what: 'a ReadMe key', pattern: /\brdme_[a-z0-9]{70}\b/ },
  { what: 'a Replicate token', pattern: /\br8_[A-Za-z0-9]{37}\b/ },
  { what: 'a RubyGems key', pattern: /\brubygems_[a-z0-9]{48}\b/ },
  { what: 'a Brevo key', pattern: /\bxkeysib-[A-Za-z0-9_-]{60,}/ },
  { what: 'a Sourcegraph token', pattern: /\b(?:sgp_[A-Za-z0-9_]{40,}|slk_[a-f0-9]{64})\b/ },
  { what: 'a Supabase token', pattern: /\bsbp_[a-z0-9]{40}\b/ },
  { what: 'a Tailscale key', pattern: /\btskey-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Zapier webhook URL', pattern: /hooks\.zapier\.com\/hooks\/catch\/[A-Za-z0-9/]{10,}/ },
  { what: 'a Mapbox secret token', pattern: /\bsk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/ },
  { what: 'a Dynatrace token', pattern: /\bdt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b/ },
];

/** Words that stand for "put the real one here", and passwords nobody should ship. */
const placeholderWords = new Set([
  'changeme',
  'change-me',
  'change_me',
  'changeit',
  'password',
  'passwd',
  'pass',
  'secret',
  'token',
  'apikey',
  'api-key',
  'admin',
  'root',
  'test',
  'testing',
  'example',
  'sample',
  'dummy',
  'default',
  'placeholder',
  'replaceme',
  'replace-me',
  'todo',
  'fixme',
  'tbd',
  'xxx',
  'none',
  'null',
  'nil',
  'undefined',
  'foo',
  'bar',
  'guest',
  'letmein',
  'qwerty',
  'welcome',
  'mysecret',
  'mypassword',
  'supersecret',
  'yourpassword',
  'your-password',
  'your_password',
  'your-secret',
  'your_secret',
  'your-token',
  'your_api_key',
  'your-api-key',
  'insecure',
  'notsecret',
  'not-a-secret',
  'p@ssw0rd',
  'passw0rd',
  'password1',
  'password123',
  'admin123',
  'secret123',
  'abc123',
  'redacted',
  'hidden',
  'masked',
  'empty',
  'unset',
  'dev',
  'local',
]);

/** `changeme`, `<token>`, `xxxxxx`, `123456`, `${VAR}`-style markers: a value nobody means as the real secret. */
export function isPlaceholder(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (placeholderWords.has(v)) return true;
  if (/^<[^<>]+>$|^\{\{.*\}\}$|^%[^%]+%$|^\[[^\]]+\]$/.test(v)) return true; // <token>, {{ .token }}, %TOKEN%
  if (/^(.)\1{2,}$/.test(v)) return true; // xxxxxxxx, ********, 00000000
  // An env-style identifier standing for the value: GOOGLE_API_KEY_VAL, INSERT_ETCD_DISCOVERY_TOKEN.
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(value.trim())) return true;
  if (/^(?:1234567890?|123456789|12345678|1234567|123456|12345|654321|0123456789)$/.test(v)) return true;
  return (
    /^(?:your|my|some|insert|enter|replace|put)[-_ ]?(?:real[-_ ]?)?(?:own[-_ ]?)?[a-z_ -]*(?:here)?$/.test(v) &&
    /key|token|secret|pass|here/.test(v)
  );
}

/** A value that is not the secret itself: a reference to one, a path, a flag, a duration, a number of seconds. */
export function isReference(value: string): boolean {
  const v = value.trim();
  return (
    v === '' ||
    /^\$\([A-Za-z_][A-Za-z0-9_]*\)$/.test(v) || // Kubernetes $(VAR) expansion: the value comes from another env
    /^\$\{[^}]+\}$/.test(v) || // ${VAR}, expanded by the program or a template
    /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) || // $VAR in a shell line
    /^(?:file|vault|awssm|gcpsm|azkv|secret|secretsmanager|ssm|k8s|env|op|arn:aws:secretsmanager):/i.test(v) ||
    v.startsWith('/') || // a mounted secret file
    v.startsWith('./') ||
    /^(?:true|false|yes|no|on|off|enabled?|disabled?)$/i.test(v) ||
    /^\d+(?:\.\d+)?(?:ms|s|m|h|d)?$/.test(v) // a count or a duration (TOKEN=3600s)
  );
}

/** Authentication scheme words: `AUTH=oidc`, `API_AUTH=Bearer`, `SMTP_AUTH=login`. */
const authSchemeWords =
  /^(?:none|basic|bearer|digest|oidc|oauth2?|saml|ldap|kerberos|ntlm|login|plain|cram-md5|xoauth2|token|jwt|mtls|tls|apikey|api-key|anonymous|disabled|enabled|required|optional|internal|external|iam|sigv4|hmac)$/i;

/** A Kubernetes object name or a hyphen/dot-joined identifier: `envoy-ingress-tls`, `regcred`, `etcd-cluster`. */
function looksLikeObjectName(value: string): boolean {
  return (
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value) &&
    value.length <= 253 &&
    (/[-.]/.test(value) || /cred|tls|secret|cert|token|key|auth/.test(value)) &&
    !/\d{4,}/.test(value) &&
    value.split(/[-.]/).every((segment) => segment.length <= 20)
  );
}

/** Characters classes used and length: random-looking text, as keys and tokens are. */
function looksRandom(value: string): boolean {
  if (value.length < 12 || /\s/.test(value)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  const distinct = new Set(value).size;
  return classes >= 2 && distinct >= Math.min(10, value.length / 2);
}

/** A password in `scheme://user:password@host` or `…;Password=…;` (ADO.NET, JDBC, Azure, ODBC). */
function credentialInUrl(value: string): Verdict | undefined {
  const url = /\b[a-z][a-z0-9+.-]*:\/\/([^\s:@/?#]*):([^\s@/?#]+)@[^\s/?#]/i.exec(value);
  const password = url ? decodeSafe(url[2] ?? '') : undefined;
  if (password !== undefined && !password.startsWith('$') && !(isReference(password) && !/^\d+$/.test(password))) {
    return isPlaceholder(password)
      ? { credential: 'weakSecret', what: 'a placeholder password in a URL' }
      : { credential: 'urlPassword', what: 'a password in a URL' };
  }
  const pair =
    /(?:^|[;?&\s])(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|sig)\s*=\s*("[^"]*"|'[^']*'|[^;&\s]+)/i.exec(
      value,
    );
  if (!pair) return undefined;
  const secret = (pair[2] ?? '').replace(/^["']|["']$/g, '');
  if (isReference(secret) || secret.startsWith('$')) return undefined;
  if (isPlaceholder(secret)) return { credential: 'weakSecret', what: 'a placeholder password in a connection string' };
  const key = (pair[1] ?? '').toLowerCase();
  return key === 'accountkey' || key.startsWith('sharedaccess') || key === 'sig'
    ? { credential: 'urlPassword', what: 'an Azure storage or service bus key in a connection string' }
    : { credential: 'urlPassword', what: 'a password in a connection string' };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/**
 * A key of a provider no pattern knows: one token of 20+ characters mixing lower case, upper case and digits
 * at ≥ 4 bits of entropy per character. Hex strings (commit ids, digests, UUIDs), URLs and paths are left out.
 * Measured on held-out scanner test strings (test/corpus/README.md) it finds about half of the formats no
 * rule names, at 0 of 139 real settings; it warns by default, since an id can look the same.
 */
export function looksLikeUnknownKey(value: string): boolean {
  const v = value.trim();
  if (v.length < 20 || v.length > 1024 || /\s/.test(v)) return false;
  if (/^(?:[a-z][a-z0-9+.-]*:\/\/|\/|\.\/|sha\d+:)/i.test(v)) return false;
  if (/^[0-9a-f-]+$/i.test(v)) return false;
  if (!/[a-z]/.test(v) || !/[A-Z]/.test(v) || !/\d/.test(v)) return false;
  return shannonEntropy(v) >= 4;
}

/** Names that say the value is an id, a digest or a place, not a secret: FOREIGN_KEY_ID, IMAGE_DIGEST. */
const notSecretName =
  /(?:_ID|_IDS|_NAME|_HASH|_DIGEST|_CHECKSUM|_SHA|_VERSION|_COMMIT|_URL|_URI|_HOST|_PATH|_FILE|_DIR|_REGION|_ZONE)$/i;

/** Names that say "this holds a password": any literal value there is one. */
const passwordName = /(?:PASSWORD|PASSWD|PASSPHRASE|(?:^|_)(?:PASS|PWD|PW))$/i;
/** Names that say "this holds a key or secret" without doubt: any literal value there is one. */
const keyName =
  /(?:SECRET_?KEY|KEY_?BASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SIGNING_?KEY|ENCRYPTION_?KEY|MASTER_?KEY|ACCOUNT_?KEY|AUTH_?KEY|CLIENT_?SECRET|APP_?SECRET|API_?SECRET|HMAC_?KEY|WEBHOOK_?SECRET|LICENSE_?KEY|SALT|ACCESSKEY|SECRETKEY|APIKEY)$/i;
/**
 * Names that often hold a secret but also hold names and ids (TLS_SECRET=envoy-ingress-tls,
 * ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster, AUTH=oidc): the value must look like a secret too.
 */
const ambiguousName = /(?:SECRET|TOKEN|CREDENTIALS?|AUTH|DSN)$/i;

const normalName = (name: string) => name.replace(/[.-]/g, '_');

export function isSecretName(name: string): boolean {
  const n = normalName(name);
  return passwordName.test(n) || keyName.test(n) || ambiguousName.test(n);
}

interface Verdict {
  credential: CredentialKind;
  what: string;
}

/** A short or patterned value a person typed: `minio123`, `admin2024`, anything under ten characters. */
function isWeak(value: string): boolean {
  return value.length < 10 || /^[a-z]+[-_]?\d{0,4}$/i.test(value);
}

/** What a value found at a place is, or undefined when it is not a credential in plain text. */
export function judgeValue(name: string | undefined, value: string, matches: ProviderMatches): Verdict | undefined {
  if (value.length > 65_536) return undefined; // not an env value anyone writes; scanning it is not worth it
  const provider = matches.get(value) ?? providerPatterns.find((p) => p.pattern.test(value))?.what;
  if (provider !== undefined) return { credential: 'providerKey', what: provider };
  const inUrl = credentialInUrl(value);
  if (inUrl !== undefined) return inUrl;
  if (name === undefined || !isSecretName(name)) {
    return looksLikeUnknownKey(value) && !(name !== undefined && notSecretName.test(normalName(name)))
      ? { credential: 'randomValue', what: 'a random-looking value, like a key of a provider rollguard does not know' }
      : undefined;
  }
  const v = value.trim();
  const n = normalName(name);
  const kind = passwordName.test(n) ? 'password' : keyName.test(n) ? 'key' : 'ambiguous';
  if (isReference(v)) {
    // A bare number under a password name is a password (`DB_PASSWORD: "123456"`), not a count.
    return kind === 'password' && /^\d{4,}$/.test(v)
      ? { credential: 'weakSecret', what: 'a weak password' }
      : undefined;
  }
  if (/^https?:\/\/[^@\s]+$/.test(v)) return undefined; // an endpoint (an issuer, a token URL), not a secret
  if (
    kind === 'ambiguous' &&
    (authSchemeWords.test(v) ||
      (!placeholderWords.has(v.toLowerCase()) &&
        (looksLikeObjectName(v) || (/^[a-z][a-z0-9_]*$/i.test(v) && !looksRandom(v)))))
  ) {
    return undefined; // a scheme, a Secret's name or an identifier
  }
  if (kind === 'key' && authSchemeWords.test(v)) return undefined;
  if (isPlaceholder(v)) return { credential: 'weakSecret', what: 'a placeholder or default value' };
  if (kind === 'password') {
    return v.length < 8
      ? { credential: 'weakSecret', what: 'a weak password' }
      : { credential: 'secretByName', what: 'a password' };
  }
  if (kind === 'key' && isWeak(v)) return { credential: 'weakSecret', what: 'a short or weak secret' };
  if (looksRandom(v) || v.length >= 16 || kind === 'key')
    return { credential: 'secretByName', what: 'a secret key or token' };
  return { credential: 'weakSecret', what: 'a short or weak secret' };
}

/**
 * What kind of credential one lone text holds, if any, without secretlint (so synchronously): rollguard's own
 * provider patterns, passwords in URLs and connection strings, random-looking keys. For redacting a value
 * before a warning repeats it, where an await is not possible and a miss only costs a longer cut.
 */
export function credentialIn(value: string): string | undefined {
  const verdict = judgeValue(undefined, value, new Map());
  return verdict?.credential === 'randomValue' ? 'a random-looking key' : verdict?.what;
}

function describePlace(f: { name?: string | undefined; field: string }): string {
  return f.name !== undefined ? `${f.name} (${f.field})` : f.field;
}

/** Every credential in plain text in the template, with its severity under the policy; `off` kinds left out. */
export function findCredentials(
  template: V1PodTemplateSpec,
  matches: ProviderMatches,
  policy: CredentialPolicy = defaultCredentialPolicy,
): CredentialFinding[] {
  // One finding per field: free text and an assignment inside it are the same place; the strongest verdict
  // (block before warn, then the order of credentialKinds) speaks for it.
  const byField = new Map<string, CredentialFinding>();
  const rank = (f: CredentialFinding) => (f.severity === 'block' ? 0 : 10) + credentialKinds.indexOf(f.credential);
  for (const candidate of credentialCandidates(template)) {
    const verdict = judgeValue(candidate.name, candidate.value, matches);
    if (!verdict) continue;
    const severity = policy.severity[verdict.credential];
    if (severity === 'off') continue;
    const excepted = policy.exceptions.some(
      (e) => e.container === candidate.container && candidate.name !== undefined && e.env === candidate.name,
    );
    if (excepted) continue;
    const finding: CredentialFinding = {
      container: candidate.container,
      containerKind: candidate.containerKind,
      field: candidate.field,
      name: candidate.name,
      credential: verdict.credential,
      what: verdict.what,
      severity,
    };
    const key = `${candidate.container}\u0000${candidate.field}`;
    const held = byField.get(key);
    if (!held || rank(finding) < rank(held)) byField.set(key, finding);
  }
  return [...byField.values()];
}

/** The finding in words for people: where, what kind, what to do; never the value. */
export function describeCredential(f: CredentialFinding): string {
  const place = describePlace(f);
  const fix =
    f.credential === 'weakSecret'
      ? 'set the real value from a Secret (valueFrom.secretKeyRef)'
      : 'move it to a Secret (valueFrom.secretKeyRef) and rotate it';
  return `${place} of ${f.containerKind} ${f.container} holds ${f.what} in plain text; ${fix}`;
}

/** Every string the template carries in env values, args and command: what secretlint should look at. */
export function scannableTexts(template: V1PodTemplateSpec): string[] {
  return [...new Set(credentialCandidates(template).map((c) => c.value))];
}
