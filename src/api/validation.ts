import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyBodyParser, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { jsonProblem, MAX_JSON_DEPTH } from '../core/json.js';
import { HeraldError } from '../errors.js';

const NUL = 'must not contain a NUL (\\u0000) character';

/**
 * Request validation. Fastify's one Ajv instance coerces types everywhere, which querystrings
 * and path parameters need (`?limit=10` is a string) but which turns a body's `{"name": 42}`
 * into "42". So two instances, configured as Fastify's own (@fastify/ajv-compiler's defaults
 * with ours on top), differ only in coercion: bodies are taken as sent.
 */
function ajv(coerceTypes: 'array' | false) {
  const instance = addFormats.default(new Ajv.default({
    coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, addUsedSchema: false,
  }));
  // RFC 3339 allows a leap second (23:59:60) that Date can't represent: refused here, not a NaN later.
  const dateTime = instance.formats['date-time'] as { validate: (s: string) => boolean };
  return instance.addFormat('date-time', { validate: (s: string) => dateTime.validate(s) && !Number.isNaN(Date.parse(s)) });
}

/** What Fastify calls a validator: true, false with `errors`, or `{ value }` to replace the request part. */
type ValidationResult = ReturnType<FastifySchemaCompiler<unknown>>;
type Errors = FastifySchemaValidationError[];

const issue = (instancePath: string, message: string): FastifySchemaValidationError =>
  ({ instancePath, message, keyword: 'herald', schemaPath: '#', params: {} });

/** A request without a body (Fastify passes null, as for a JSON null) leaves every field out: all-optional routes need none. */
function bodyValidator(validate: ValidateFunction): ValidationResult {
  const check: ValidationResult = (data: unknown) => {
    const body = data ?? {};
    if (validate(body)) return { value: body };
    check.errors = validate.errors as Errors;
    return false;
  };
  return check;
}

/** The first entry of a querystring or path that holds a value (or an array of them) matching `bad`. */
const findEntry = (data: Record<string, unknown>, bad: (v: unknown) => boolean) =>
  Object.entries(data).find(([, v]) => [v].flat().some(bad))?.[0];

/**
 * Querystrings and path parameters, flat strings (or arrays of them) before coercion. A NUL
 * can't be stored in PostgreSQL's text, so it is refused here, for both backends alike. Ajv
 * coerces "1e999" to Infinity and then skips its range checks (they look at finite numbers
 * only), so what it coerced must still be finite.
 */
function coercingValidator(validate: ValidateFunction): ValidationResult {
  const check: ValidationResult = (data: Record<string, unknown> | null) => {
    const nul = findEntry(data ?? {}, (v) => typeof v === 'string' && v.includes('\u0000'));
    if (nul !== undefined) {
      check.errors = [issue(`/${nul}`, NUL)];
      return false;
    }
    if (!validate(data)) {
      check.errors = validate.errors as Errors;
      return false;
    }
    const infinite = findEntry(data ?? {}, (v) => typeof v === 'number' && !Number.isFinite(v));
    if (infinite !== undefined) {
      check.errors = [issue(`/${infinite}`, 'must be a finite number')];
      return false;
    }
    return true;
  };
  return check;
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = ajv(false);
  const coercing = ajv('array');
  return ({ schema, httpPart }) =>
    httpPart === 'body' ? bodyValidator(strict.compile(schema as object)) : coercingValidator(coercing.compile(schema as object));
}

type JsonParse = (req: never, body: string, done: (err: Error | null, value?: unknown) => void) => void;

function bodyProblem(text: string, value: unknown): HeraldError | null {
  const found = jsonProblem(value, { nul: text.includes('\\u0000') });
  if (!found) return null;
  if (found.problem === 'nul') {
    return new HeraldError('validation_failed', `body${found.path} ${NUL}`, [{ location: 'body', path: found.path || '/', message: NUL }]);
  }
  // Where the nesting starts, not all 64 steps of the path.
  const start = found.path.split('/').slice(1, 4).join('/');
  return new HeraldError('payload_too_deep', `body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep (at body/${start}/…)`, { maxDepth: MAX_JSON_DEPTH });
}

/**
 * application/json bodies: Fastify's own parser (with its prototype-poisoning protection),
 * then what schemas can't say. An empty body is `{}`, like no body at all. A JSON string holds
 * a NUL only as the escape \u0000, so a body without that text is not searched for one.
 */
export function jsonBodyParser(parse: JsonParse): FastifyBodyParser<string> {
  return (req, text, done) => {
    if (text.length === 0) return done(null, {});
    parse(req as never, text, (err, value) => {
      if (err) return done(err);
      const problem = bodyProblem(text, value);
      return problem ? done(problem) : done(null, value);
    });
  };
}
