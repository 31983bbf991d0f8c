// The person in the README walkthrough: opens the authorization URL (argv[2]), signs in as
// ada@example.com, allows, and prints the `code` the browser would land with.
import { UserAgent, formAction, hiddenField } from './user-agent.js';

const url = new URL(process.argv[2]!);
const origin = url.origin;
const ua = new UserAgent();
let step = await ua.follow(url.toString(), origin);
step = await ua.follow(new URL(formAction(step.html!), origin).toString(), origin, {
  form: { csrf: hiddenField(step.html!, 'csrf'), email: 'ada@example.com', password: 'correct horse battery staple' },
});
step = await ua.follow(new URL(formAction(step.html!), origin).toString(), origin, {
  form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
});
const code = new URL(step.url).searchParams.get('code');
if (!code) throw new Error(`no code at ${step.url}`);
process.stdout.write(`${code}\n`);
