/**
 * Fast unit tests of the pure logic the workflows and the API rely on: cron checks, the robot and run schemas where
 * they used to drift, JSON merge patch, graph checks, and how the task graph shares a budget. No Temporal here.
 */
import { ApprovalBody, ApprovalSettings, DecisionInput } from '../contracts/gates';
import { checkGraph, criticalPath, dependantsOf, findCycle, levels, sinks, waveMakespan } from '../contracts/dag';
import { cronError, RobotFields } from '../contracts/robot';
import { mergePatch } from '../api/robots/service';
import { CreateRunBody } from '../api/schemas';
import { available, decideGrant, fits } from '../workflows/dag/grant-policy';

describe('cron checks', () => {
  test.each(['0 9 * * MON-FRI', '*/15 0-23 1,15 JAN-MAR SUN', '0 0 1 * *', '@daily', '@hourly', '5 4 * * 7'])('When "%s" is checked, then it is valid', (expr) => {
    expect(cronError(expr)).toBeUndefined();
  });

  test.each([
    ['61 * * * *', /^minute: .*61.*0-59/],
    ['0 25 * * *', /^hour: .*25.*0-23/],
    ['0 0 32 * *', /^day of month: /],
    ['0 0 * 13 *', /^month: /],
    ['0 9 * * FOO', /^day of week: .*foo/i],
    ['5-2 * * * *', /^minute: .*5-2/],
    ['* * *', /^expected 5 fields .* got 3$/],
    ['0 0 0 * * *', /^expected 5 fields .* got 6$/],
    ['@sometimes', /^unknown macro @sometimes$/],
  ])('When "%s" is checked, then the error names what is wrong', (expr, message) => {
    expect(cronError(expr)).toMatch(message);
  });
});

describe('one schema per shape', () => {
  const twoGatesAtOnePoint = { gates: [{ at: 'delivery' }, { at: 'delivery', timeoutSeconds: 60 }] };

  test('When two gates stand at one point, then runs, robots and the approval settings all refuse it alike', () => {
    expect(ApprovalSettings.safeParse(twoGatesAtOnePoint).success).toBe(false);
    const run = CreateRunBody.safeParse({ task: 'x', approvals: twoGatesAtOnePoint });
    const robot = RobotFields.safeParse({ name: 'R', role: 'Does things', approvals: twoGatesAtOnePoint });
    expect(run.success).toBe(false);
    expect(robot.success).toBe(false);
    expect(run.error!.issues[0].message).toBe(robot.error!.issues[0].message);
  });

  test('When a decision is checked, then revise needs feedback and the API body takes no channel', () => {
    expect(DecisionInput.safeParse({ decision: 'revise' }).success).toBe(false);
    expect(DecisionInput.safeParse({ decision: 'revise', feedback: 'Cite sources' }).success).toBe(true);
    expect(DecisionInput.safeParse({ decision: 'approve', channel: 'timeout' }).success).toBe(false);
    expect(ApprovalBody.safeParse({ decision: 'approve', channel: 'api' }).success).toBe(false);
    expect(ApprovalBody.safeParse({ decision: 'approve', raiseBy: {} }).success).toBe(false);
  });

  test('When a robot has a schedule and continuous mode, then it is refused naming continuous', () => {
    const r = RobotFields.safeParse({ name: 'R', role: 'x', schedule: { every: '1h' }, continuous: { pause: '1m' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['continuous']);
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  // The RFC's own examples (appendix A), a few of them.
  test.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'foo' }, null, null],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('When %j is patched with %j, then it becomes %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  test('When a patch is applied, then the target is not changed in place', () => {
    const target = { a: { b: 1 } };
    mergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });
});

describe('graph checks', () => {
  const n = (id: string, dependsOn: string[] = []) => ({ id, dependsOn });

  test('When a graph is fine, then there is nothing to say', () => {
    expect(checkGraph([n('a'), n('b', ['a']), n('c', ['a']), n('d', ['b', 'c'])], { maxNodes: 10 })).toEqual([]);
  });

  test('When a graph has every kind of problem, then each is named in words a planner can act on', () => {
    const issues = checkGraph([n('a', ['b']), n('b', ['a']), n('a'), n('c', ['c']), n('d', ['zz'])], { maxNodes: 4 });
    expect(issues.map((i) => i.code).sort()).toEqual(['cycle', 'duplicate_id', 'self_dependency', 'too_many_nodes', 'unknown_dependency']);
    expect(issues.find((i) => i.code === 'unknown_dependency')!.message).toBe('node "d" depends on unknown node "zz"');
    expect(checkGraph([], { maxNodes: 4 })).toEqual([expect.objectContaining({ code: 'empty' })]);
  });

  test('When a cycle is looked for, then it is returned closed, and an acyclic graph has none', () => {
    expect(findCycle([n('a', ['c']), n('b', ['a']), n('c', ['b'])])).toEqual(['a', 'c', 'b', 'a']);
    expect(findCycle([n('a'), n('b', ['a'])])).toBeUndefined();
  });

  test('When durations are given, then the critical path, levels, waves, sinks and dependants follow', () => {
    const g = [n('a'), n('b', ['a']), n('c', ['a']), n('d', ['b', 'c']), n('e')];
    const d: Record<string, number> = { a: 1, b: 5, c: 2, d: 1, e: 4 };
    expect(criticalPath(g, (id) => d[id])).toBe(7); // a → b → d
    expect(Object.fromEntries(levels(g))).toEqual({ a: 0, b: 1, c: 1, d: 2, e: 0 });
    expect(waveMakespan(g, (id) => d[id])).toBe(4 + 5 + 1); // each wave waits for its slowest node
    expect(sinks(g).sort()).toEqual(['d', 'e']);
    expect(dependantsOf(g, 'a').sort()).toEqual(['b', 'c', 'd']);
  });
});

describe('budget grants of the task graph', () => {
  const none = { tokens: 0, costUsd: 0 };

  test('When several activities wait and others are in flight, then the first gets an equal share of what is left', () => {
    const answer = decideGrant({ left: { remainingTokens: 900, remainingCostUsd: 0.3 }, waiting: 3, inFlight: true, lastRefused: none, expected: { tokens: 100, costUsd: 0.01 } });
    expect(answer).toEqual({ grant: { remainingTokens: 300, remainingCostUsd: 0.1 } });
  });

  test('When a share is smaller than what a step is expected to need, then the grant is that need (never more than is left)', () => {
    expect(decideGrant({ left: { remainingTokens: 900 }, waiting: 3, inFlight: true, lastRefused: { tokens: 500, costUsd: 0 }, expected: { tokens: 100, costUsd: 0 } })).toEqual({
      grant: { remainingTokens: 500, remainingCostUsd: undefined },
    });
    expect(decideGrant({ left: { remainingTokens: 400 }, waiting: 1, inFlight: true, needed: { tokens: 400, costUsd: 0 }, lastRefused: none, expected: none })).toEqual({
      grant: { remainingTokens: 400, remainingCostUsd: undefined },
    });
  });

  test('When a refused request needs more than is left, then it waits for what is in flight, or for the gate when nothing is', () => {
    const q = { left: { remainingTokens: 100 }, waiting: 1, needed: { tokens: 300, costUsd: 0 }, lastRefused: none, expected: none };
    expect(decideGrant({ ...q, inFlight: true })).toEqual({ wait: 'in-flight' });
    expect(decideGrant({ ...q, inFlight: false })).toEqual({ wait: 'gate' });
  });

  test('When nothing is in flight, then a first request goes to the gate once, and through it after the gate let it', () => {
    const q = { left: { remainingTokens: 1000 }, waiting: 1, inFlight: false, lastRefused: none, expected: { tokens: 50, costUsd: 0 } };
    expect(decideGrant(q)).toEqual({ wait: 'gate' });
    expect(decideGrant({ ...q, checked: true })).toEqual({ grant: { remainingTokens: 1000, remainingCostUsd: undefined } });
  });

  test('When the budget is spent, then nothing is granted even if the need is zero', () => {
    expect(decideGrant({ left: { remainingTokens: 0 }, waiting: 1, inFlight: true, lastRefused: none, expected: none })).toEqual({ wait: 'in-flight' });
  });

  test('When grants are in flight, then what is available is what is left minus them, to the micro-dollar', () => {
    expect(available({ remainingTokens: 1000, remainingCostUsd: 0.3 }, [{ remainingTokens: 250, remainingCostUsd: 0.1 }, { remainingTokens: 250, remainingCostUsd: 0.1 }])).toEqual({
      remainingTokens: 500,
      remainingCostUsd: 0.1,
    });
    expect(fits({ tokens: 10, costUsd: 1 }, { remainingTokens: 10 })).toBe(true);
    expect(fits({ tokens: 11, costUsd: 0 }, { remainingTokens: 10 })).toBe(false);
  });
});
