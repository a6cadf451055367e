import type { Command } from 'commander';
import { WebhookVerificationError } from '../../sdk/receiver/errors.js';
import type { SchemeName } from '../../sdk/receiver/schemes/index.js';
import { sign } from '../../sdk/receiver/sign.js';
import { verifyWebhook } from '../../sdk/receiver/verify.js';
import { UsageError, bytesArg, headerArgs, intArg, numArg, objectArg, outputMode, repeatable, run } from '../context.js';
import { printOne } from '../output.js';

/** A bad secret or option is the caller's mistake (exit 2), not a failed verification. */
function isUsage(err: unknown): err is WebhookVerificationError {
  return err instanceof WebhookVerificationError && (err.code === 'invalid_secret' || err.code === 'invalid_options');
}

/** herald sign / herald verify: the receiver SDK on the command line, no server needed. */
export function signCommand(program: Command): void {
  program.command('sign').description('print the headers Herald would send with a body: Standard Webhooks and the legacy x-webhook-signature')
    .requiredOption('--secret <whsec>', 'the endpoint\'s secret')
    .requiredOption('--body <text>', 'the body exactly as sent (or @file, @- for stdin)')
    .option('--id <id>', 'webhook-id (default a random msg_…)').option('--timestamp <unix>', 'webhook-timestamp, Unix seconds (default now)')
    .action(run(async (o, cmd: Command) => {
      const mode = outputMode(cmd);
      const body = bytesArg(o.body, '--body');
      const timestamp = o.timestamp === undefined ? undefined : intArg(o.timestamp, '--timestamp');
      let headers: Record<string, string>;
      try {
        headers = { ...(await sign(body, o.secret, { id: o.id, timestamp })), ...(await sign(body, o.secret, { scheme: 'legacy' })) };
      } catch (err) {
        if (isUsage(err)) throw new UsageError(err.message);
        throw err;
      }
      if (mode === 'json') printOne(mode, headers);
      else for (const [name, value] of Object.entries(headers)) process.stdout.write(`${name}: ${value}\n`);
    }));

  program.command('verify').description('check the signature of a captured request; exits 0 when valid, 1 when not')
    .requiredOption('--secret <secret>', 'the secret (repeatable: any of them may match)', repeatable)
    .requiredOption('--body <text>', 'the body exactly as received (or @file, @- for stdin)')
    .option('--header <header>', '\'name: value\' of the request (repeatable)', repeatable)
    .option('--headers <json>', 'the request\'s headers as a JSON object (or @file.json)')
    .option('--scheme <scheme>', 'standard (default), legacy, github, stripe, slack or shopify')
    .option('--tolerance <seconds>', 'accepted age of a signed timestamp (default 300)')
    .action(run(async (o, cmd: Command) => {
      const mode = outputMode(cmd);
      if (!o.header && !o.headers) throw new UsageError('give the request\'s headers with --header or --headers');
      const headers = { ...(o.headers ? objectArg(o.headers, '--headers') : {}), ...headerArgs(o.header ?? []) } as Record<string, string>;
      const options = {
        scheme: o.scheme as SchemeName | undefined, parse: 'text' as const,
        toleranceSeconds: o.tolerance === undefined ? undefined : numArg(o.tolerance, '--tolerance'),
      };
      try {
        const v = await verifyWebhook(bytesArg(o.body, '--body'), headers, o.secret, options);
        if (mode === 'json') printOne(mode, { valid: true, scheme: v.scheme, id: v.id ?? null, timestamp: v.timestamp ?? null });
        else process.stdout.write('valid\n');
      } catch (err) {
        if (isUsage(err)) throw new UsageError(err.message);
        if (!(err instanceof WebhookVerificationError)) throw err;
        if (mode === 'json') printOne(mode, { valid: false, code: err.code, message: err.message });
        process.stderr.write(`herald: invalid: ${err.code}: ${err.message}\n`);
        process.exitCode = 1;
      }
    }));
}
