/**
 * Secret redaction: owns what counts as a secret in an event's `metadata` and `request`, and
 * replaces it with "[REDACTED]" before anything is stored. Two nets, at any depth:
 *
 * - By key name: the whole value under a key that looks secret is replaced. Keys are compared
 *   after lower-casing and dropping everything but letters and digits (`X-Api-Key`, `apiKey` and
 *   `api_key` are one name). Names longer than four characters match anywhere inside a key
 *   (`access_token`, `db_password_hash`); shorter ones match whole words only (`otp` in `otp_code`,
 *   `userSSN`, but not in `hotpot` or `classname`). `[{"name": "Authorization", "value": …}]` and
 *   `[["Authorization", …]]` count as keys too: the value beside a secret-looking name is replaced.
 * - By value: every string, under any key, is scanned for credentials with a recognisable shape
 *   (JWTs, Bearer/Basic credentials, cloud and SaaS tokens, private keys, passwords in URLs and
 *   in `password=…` assignments, our own API keys). Only the secret part of the string is
 *   replaced, so `Authorization: Bearer eyJ…` becomes `Authorization: Bearer [REDACTED]` and
 *   `postgres://app:pw@db/app` becomes `postgres://app:[REDACTED]@db/app`. A string that is itself
 *   JSON is parsed and redacted by both nets, then written back as JSON.
 *
 * Object keys are never rewritten: a secret used as a key name can't be told from a key, and
 * renaming keys would change the event's shape. The redactor is idempotent (redacting twice gives
 * the result of redacting once) and returns its input unchanged when there is nothing to redact.
 */

export const REDACTED = '[REDACTED]';

export const DEFAULT_SECRET_KEYS = [
  // Anywhere inside a key.
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'authorization',
  'api_key',
  'apikey',
  'access_key',
  'account_key',
  'private_key',
  'signing_key',
  'encryption_key',
  'credentials',
  'connection_string',
  'session_id',
  'sessid',
  'cookie',
  'credit_card',
  'card_number',
  'pin_code',
  'recovery_code',
  'backup_code',
  // Whole words only: as substrings these would hit ordinary keys (`otp` in `hotpot`).
  // Deliberately absent: `signature` (email_signature, signature_required: `signature=` in a URL
  // is still redacted by value) and `iban` (an account number, not a credential: add it with
  // TRAILKEEPER_REDACT_KEYS where it counts as sensitive).
  'pw',
  'pwd',
  'otp',
  'totp',
  'pin',
  'cvv',
  'cvc',
  'ssn',
  'dsn',
  'jwt',
] as const;

/** Names this short match whole words of a key only; longer ones match anywhere inside it. */
const WHOLE_WORD_MAX_LENGTH = 4;

/** Nesting beyond this (reachable only through JSON inside strings) is replaced whole: fail closed. */
const MAX_DEPTH = 64;

/** A longer "name" is prose (`{"name": "Reset your password", …}`), not a header or field name. */
const MAX_PAIR_NAME_LENGTH = 128;

/** `{name|key|header|field…: <secret-looking name>, value: …}`: the value is the secret. */
const PAIR_NAME_KEYS = new Set([
  'name',
  'key',
  'header',
  'headername',
  'field',
  'param',
  'parameter',
  'parametername',
  'parameterkey',
  'variable',
]);
const PAIR_VALUE_KEYS = new Set(['value', 'values', 'val', 'headervalue', 'parametervalue']);

/** Keys seen by one redactor; keys repeat across events, so the verdict is cached (bounded). */
const KEY_CACHE_LIMIT = 10_000;

const normalize = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

type CharKind = 'lower' | 'upper' | 'digit' | 'other';

const charKind = (c: string | undefined): CharKind => {
  if (c === undefined) return 'other';
  if (c >= 'a' && c <= 'z') return 'lower';
  if (c >= 'A' && c <= 'Z') return 'upper';
  if (c >= '0' && c <= '9') return 'digit';
  return 'other';
};

/**
 * Splits a key into lower-case words: `X-Api-Key` → x, api, key; `userSSN` → user, ssn;
 * `HTTPHeader` → http, header; `cvv2` → cvv, 2. A plain loop rather than regexes, so a 32 KiB
 * key costs one pass.
 */
const keyWords = (key: string): string[] => {
  const words: string[] = [];
  let word = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i] as string;
    const kind = charKind(c);
    const previous = charKind(key[i - 1]);
    if (kind === 'other') {
      if (word) words.push(word);
      word = '';
      continue;
    }
    const startsWord =
      word !== '' &&
      ((kind === 'upper' && previous === 'lower') ||
        (kind === 'upper' && previous === 'upper' && charKind(key[i + 1]) === 'lower') ||
        ((kind === 'digit') !== (previous === 'digit') && previous !== 'other'));
    if (startsWord) {
      words.push(word);
      word = '';
    }
    word += c.toLowerCase();
  }
  if (word) words.push(word);
  return words;
};

/** True when some run of consecutive words spells `name` (`db_pw` matches `dbpw`). */
const hasWordRun = (words: readonly string[], name: string): boolean => {
  for (let start = 0; start < words.length; start++) {
    let run = '';
    for (let end = start; end < words.length && run.length < name.length; end++) {
      run += words[end];
      if (run === name) return true;
    }
  }
  return false;
};

/** `password` → `[pP][aA]…`: case-insensitive words without a case-insensitive regex (token prefixes are case-sensitive). */
const anyCase = (word: string): string => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);

/** Credential-shaped, not prose: a digit, base64 padding, or two lower→upper switches (`dXNlcjpw`). */
const looksLikeCredential = (value: string): boolean =>
  value.length >= 6 &&
  (/\d/.test(value) || /=$/.test(value) || (value.match(/[a-z][A-Z]/g)?.length ?? 0) >= 2);

/** After `password:` (not `=`), a plain word is prose: `Password: must be 8 characters`. */
const notProse = (value: string): boolean => !/^[A-Za-z][a-z]{0,15}[.!]?$/.test(value);

/** `$KEY`, `${DB_PASSWORD}` (whose `{` ends an unquoted value): a reference to a secret, not one. */
const isVariableReference = (value: string): boolean => /^\$(?:[A-Za-z_]\w*)?$/.test(value);

interface ValueRule {
  readonly name: string;
  /** Exactly two capture groups: the context kept as it is, then the secret. */
  readonly source: string;
  /** A second look where a pattern alone can't tell a credential from prose (`Basic plan`). */
  readonly accept?: (secret: string, kept: string) => boolean;
}

const AWS_ACCESS_KEY_ID_SOURCE = '(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])';
const AWS_ACCESS_KEY_ID = new RegExp(AWS_ACCESS_KEY_ID_SOURCE);

/** RFC 7235 token68: the shape of Bearer and Basic credentials. */
const TOKEN68 = '[A-Za-z0-9._~+/=-]';

/** `name=value` or a bare attribute (`HttpOnly`), after the header's first `name=value`. */
const COOKIE_PAIR = String.raw`[^\s=;"'\\]{1,64}(?:=[^\s;"'\\]{0,4096})?`;

/** Names that make the value after `=` or `:` a secret, in text (`?access_token=…`, `Password=…;`). */
const ASSIGNED_NAMES = [
  anyCase('pass(?:word|wd|phrase|code)'),
  anyCase('secret'),
  anyCase('token'),
  `${anyCase('api')}[_-]?${anyCase('key')}`,
  `${anyCase('access')}[_-]?${anyCase('key')}`,
  `${anyCase('account')}[_-]?${anyCase('key')}`,
  `${anyCase('private')}[_-]?${anyCase('key')}`,
  anyCase('signature'),
  `${anyCase('sess')}(?:${anyCase('ion')})?[_-]?${anyCase('id')}`,
  `(?<![A-Za-z])${anyCase('pwd')}`,
  `(?<![A-Za-z])${anyCase('otp')}`,
].join('|');

/** The name (with a bounded suffix: `_ACCESS_KEY`), optional quotes, and `=`, `:` or `=>`. */
const ASSIGNMENT = String.raw`(?:${ASSIGNED_NAMES})[A-Za-z0-9_-]{0,24}(?:\\?["'])?\s{0,3}(?:=>|[:=])\s{0,3}`;

/**
 * The value-shaped secrets, tried left to right through the text as one combined regex.
 *
 * Linear by construction: every quantifier over a character class is bounded (at most 8192, most
 * far less); the only repeated groups (a quoted value's characters-or-escapes, a cookie header's
 * `; name=value` pairs, a private key's body) have alternatives that can't match the same text,
 * so nothing is tried two ways; and each alternative starts with a literal (`eyJ`, `://`,
 * `-----BEGIN`, a token prefix, a secret-sounding name), mostly behind a boundary look-behind,
 * so a start position does bounded work and few positions qualify. The one unbounded run (a
 * private key's body) starts only after `-----BEGIN … PRIVATE KEY-----` and never backtracks:
 * whatever it consumes is redacted. No timing test guards this; keep new rules to that shape.
 */
const VALUE_RULES: readonly ValueRule[] = [
  {
    name: 'pem-private-key',
    source: String.raw`(-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----)((?:[A-Za-z0-9+/=\s\\:,.]|-(?!----END))+)`,
  },
  {
    // Ours: `tk.<tenant id>.<key id>.<secret>`; the ids stay readable, they say which key leaked.
    name: 'trailkeeper-api-key',
    source: String.raw`(?<![A-Za-z0-9_.-])(tk\.tnt_[0-9a-z]{26}\.key_[0-9a-z]{26}\.)([A-Za-z0-9_-]{8,64})`,
  },
  {
    // `Authorization: Bearer …`, `"authorization": "Token …"`, `Proxy-Authorization: Basic …`.
    name: 'authorization-header',
    source: String.raw`((?:${anyCase('proxy-')})?${anyCase('authorization')}(?:\\?["'])?\s{0,3}[:=]\s{0,3}(?:\\?["'])?(?:[A-Za-z][A-Za-z0-9-]{0,30}\s{1,3})?)(${TOKEN68}{6,4096})`,
    accept: looksLikeCredential,
  },
  {
    name: 'bearer-or-basic',
    source: String.raw`((?<![A-Za-z])(?:${anyCase('bearer')}|${anyCase('basic')})\s{1,3})(${TOKEN68}{6,4096})`,
    accept: looksLikeCredential,
  },
  {
    // `Cookie: a=1; b=2` and `Set-Cookie: sid=…; Path=/`: every cookie (and attribute) of the header.
    name: 'cookie-header',
    source: String.raw`((?:${anyCase('set-')})?${anyCase('cookie')}\s{0,3}:\s{0,3})([^\s=;"'\\]{1,64}=[^\s;"'\\]{0,4096}(?:;[ \t]?${COOKIE_PAIR}){0,64})`,
  },
  {
    // `https://user:pass@host`, `postgres://app:pw@db/app`: the URL stays, the password goes.
    // The password run is greedy, so `p@ss@host` loses everything up to the last `@`.
    name: 'url-password',
    source: String.raw`(:\/\/[^\s:/?#@"'<>\\]{0,128}:)([^\s/?#"'<>\\]{1,256})(?=@)`,
  },
  {
    // Incoming-webhook URLs are credentials in themselves.
    name: 'webhook-url',
    source: String.raw`(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/[0-9]{5,32}\/)([A-Za-z0-9_/-]{8,256})`,
  },
  {
    // Azure SAS signatures: `…?sv=2022-11-02&sig=…`.
    name: 'azure-sas-signature',
    source: String.raw`([?&]sig=)([^&\s#"'<>]{8,512})`,
  },
  {
    // `password=hunter2`, `?access_token=…&`, `Password=…;` (connection strings), `secret: s3cr3t`;
    // quoted (`"password": "…"`, `password='…'`), everything inside the quotes, escapes included
    // (a PEM key with `\n`s) but not past an escaped quote (`\"password\":\"…\"`, escaped JSON).
    // An unquoted value is never a private key's first line: the key rule must see its BEGIN line.
    // `signature` counts only before `=` (`X-Amz-Signature=…`); `signature: RS256` is a field.
    name: 'assignment',
    source: String.raw`(${ASSIGNMENT}(?:\\?["'])?)((?<=")(?:[^"\\\r\n]|\\[^"']){1,8192}|(?<=')(?:[^'\\\r\n]|\\[^"']){1,8192}|(?!-----BEGIN)[^\s"'\\&;,<>()[\]{}]{1,512})`,
    accept: (secret, kept) =>
      !isVariableReference(secret) &&
      (kept.includes('=') || (!/signature/i.test(kept) && (/["']$/.test(kept) || notProse(secret)))),
  },
  {
    // Header and payload segments, a signature segment that may be empty (alg "none"), and the
    // two more segments of an encrypted JWT (JWE).
    name: 'jwt',
    source: String.raw`()((?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,4096}(?:\.[A-Za-z0-9_-]{0,4096}\.[A-Za-z0-9_-]{0,4096})?)`,
  },
  {
    // Access key ids (long-term AKIA, temporary ASIA). Seeing one arms the AWS secret key check.
    name: 'aws-access-key-id',
    source: `()(${AWS_ACCESS_KEY_ID_SOURCE})`,
  },
  {
    name: 'prefixed-token',
    source: `()((?<![A-Za-z0-9])(?:${[
      'gh[pousr]_[A-Za-z0-9]{30,251}', // GitHub classic, OAuth, user, server, refresh
      'github_pat_[A-Za-z0-9_]{30,251}', // GitHub fine-grained
      'glpat-[A-Za-z0-9_-]{20,64}', // GitLab
      '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}', // Stripe secret and restricted (not pk_: public)
      'whsec_[A-Za-z0-9+/=]{20,256}', // Stripe webhook signing secret
      'xox[abposre]-[A-Za-z0-9-]{10,250}', // Slack bot, user, app-level… tokens
      'xapp-[0-9]-[A-Za-z0-9-]{10,250}', // Slack app token
      'AIza[A-Za-z0-9_-]{35}', // Google API key
      'ya29\\.[A-Za-z0-9_-]{20,2048}', // Google OAuth access token
      'GOCSPX-[A-Za-z0-9_-]{20,64}', // Google OAuth client secret
      'sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,256}', // OpenAI, Anthropic
      'npm_[A-Za-z0-9]{36}', // npm
      'pypi-[A-Za-z0-9_-]{50,512}', // PyPI
      'hvs\\.[A-Za-z0-9_-]{24,256}', // HashiCorp Vault service token
      'dop_v1_[a-f0-9]{64}', // DigitalOcean
      'shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}', // Shopify
      'SG\\.[A-Za-z0-9_-]{16,32}\\.[A-Za-z0-9_-]{16,64}', // SendGrid
    ].join('|')}))`,
  },
];

const VALUE_SECRETS = new RegExp(VALUE_RULES.map((rule) => `(?:${rule.source})`).join('|'), 'g');

/** 40 base64 characters, redacted only in a string that also holds an access key id. */
const AWS_SECRET_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const looksLikeAwsSecretKey = (value: string): boolean =>
  /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9/+]/.test(value);

// A rule with a stray capture group would shift every rule after it: refuse to load.
for (const rule of VALUE_RULES) {
  const groups = (new RegExp(`${rule.source}|`).exec('')?.length ?? 0) - 1;
  if (groups !== 2) throw new Error(`redaction rule ${rule.name} has ${groups} capture groups, not 2`);
}

/** Replaces the secrets inside one string, keeping the text around them. */
const redactText = (text: string): string => {
  let out = '';
  let copiedUpTo = 0;
  VALUE_SECRETS.lastIndex = 0;
  for (let found = VALUE_SECRETS.exec(text); found !== null; found = VALUE_SECRETS.exec(text)) {
    const match = found;
    const index = VALUE_RULES.findIndex((_, i) => match[2 * i + 2] !== undefined);
    const rule = VALUE_RULES[index];
    const kept = match[2 * index + 1] ?? '';
    const secret = match[2 * index + 2] ?? '';
    if (rule === undefined || (rule.accept !== undefined && !rule.accept(secret, kept))) {
      // Not a secret after all: look again from the next character (a shorter rule may fit).
      VALUE_SECRETS.lastIndex = match.index + 1;
      continue;
    }
    out += text.slice(copiedUpTo, match.index + kept.length) + REDACTED;
    copiedUpTo = match.index + match[0].length;
  }
  const redacted = copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
  return AWS_ACCESS_KEY_ID.test(text)
    ? redacted.replace(AWS_SECRET_KEY, (candidate) =>
        looksLikeAwsSecretKey(candidate) ? REDACTED : candidate,
      )
    : redacted;
};

/** A string that is a whole JSON object or array, parsed; undefined for anything else. */
const embeddedJson = (text: string): object | undefined => {
  const trimmed = text.trim();
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  if (!((first === '{' && last === '}') || (first === '[' && last === ']'))) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
};

export type Redactor = (value: unknown) => unknown;

/** Builds a redactor for the default list plus `extraKeys` (e.g. from TRAILKEEPER_REDACT_KEYS). */
export const createRedactor = (extraKeys: readonly string[] = []): Redactor => {
  const names = [...new Set([...DEFAULT_SECRET_KEYS, ...extraKeys].map(normalize).filter(Boolean))];
  const anywhere = names.filter((n) => n.length > WHOLE_WORD_MAX_LENGTH);
  const wholeWord = names.filter((n) => n.length <= WHOLE_WORD_MAX_LENGTH);
  const verdicts = new Map<string, boolean>();

  const looksSecret = (key: string): boolean => {
    const cached = verdicts.get(key);
    if (cached !== undefined) return cached;
    const normalized = normalize(key);
    const words = keyWords(key);
    const verdict =
      anywhere.some((n) => normalized.includes(n)) || wholeWord.some((n) => hasWordRun(words, n));
    if (verdicts.size >= KEY_CACHE_LIMIT) verdicts.clear();
    verdicts.set(key, verdict);
    return verdict;
  };

  const namesSecret = (name: unknown): boolean =>
    typeof name === 'string' && name.length <= MAX_PAIR_NAME_LENGTH && looksSecret(name);

  /** `[["Authorization", "Bearer …"], ["Accept", "text/csv"]]`: entries, as from `Object.entries` or `Headers`. */
  const isEntryList = (items: readonly unknown[]): boolean =>
    items.length > 0 &&
    items.every((item) => Array.isArray(item) && item.length === 2 && typeof item[0] === 'string');

  const redactString = (text: string, depth: number): string => {
    const parsed = embeddedJson(text);
    if (parsed === undefined) return redactText(text);
    const redacted = redactValue(parsed, depth + 1);
    return redacted === parsed ? text : JSON.stringify(redacted);
  };

  const redactArray = (items: readonly unknown[], depth: number): readonly unknown[] => {
    const entries = isEntryList(items);
    let changed = false;
    const out = items.map((item) => {
      const [name, value] = entries ? (item as unknown[]) : [];
      const next =
        entries && namesSecret(name) && value !== REDACTED ? [name, REDACTED] : redactValue(item, depth + 1);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? out : items;
  };

  const redactObject = (object: object, depth: number): object => {
    const entries = Object.entries(object);
    const secretPair = entries.some(([k, v]) => PAIR_NAME_KEYS.has(normalize(k)) && namesSecret(v));
    let changed = false;
    const out = entries.map(([k, v]): [string, unknown] => {
      const secret = looksSecret(k) || (secretPair && PAIR_VALUE_KEYS.has(normalize(k)));
      const next = secret ? REDACTED : redactValue(v, depth + 1);
      if (next !== v) changed = true;
      return [k, next];
    });
    // Keys are kept as they are, even one that is itself a secret: only values are redacted.
    // fromEntries defines properties, so a `__proto__` key stays a key.
    return changed ? Object.fromEntries(out) : object;
  };

  const redactValue = (value: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) return REDACTED;
    if (typeof value === 'string') return redactString(value, depth);
    if (Array.isArray(value)) return redactArray(value, depth);
    if (value !== null && typeof value === 'object') return redactObject(value, depth);
    return value;
  };

  return (value) => redactValue(value, 0);
};

export const parseKeyList = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
