import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_KEY_PREFIX, keyName } from "../../llamacloud/key-name";
import type { ApiKeyInfo } from "../../llamacloud/schemas";
import { redacted } from "../../redaction";
import { nextToken, planSecret, type SecretPlan } from "../../rotator/plan";
import { PROMOTE_WITHIN_MS, STAGING_WINDOW_MS } from "../../rotator/services";
import type { SecretState, VersionView } from "../../rotator/state";
import type { SecretPayload } from "../../secrets/payload";

/**
 * `plan.ts` on its own: each secret state × time → the decision, as a table. No services: the
 * plan is pure, which is what lets `--dry-run` and `status` say exactly what a pass would do.
 */

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const PROJECT = "11111111-1111-4111-8111-111111111111";
const ENV = "prod";
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/search-AbCdEf";

const uuid = () => randomUUID();
const nameFor = (token: string) => keyName(DEFAULT_KEY_PREFIX, PROJECT, ENV, token);
const key = (id: string, name: string | null, createdAt: number): ApiKeyInfo =>
  ({ id, name, projectId: PROJECT, createdAt: new Date(createdAt).toISOString() }) as ApiKeyInfo;
const payload = (keyId: string, token: string): SecretPayload =>
  ({
    format: 1,
    apiKey: redacted(`llx-${"x".repeat(40)}`),
    keyId,
    keyName: nameFor(token),
    projectId: PROJECT,
    organizationId: null,
    environment: ENV,
    baseUrl: "https://api.cloud.llamaindex.ai",
    createdAt: new Date(T0).toISOString(),
  }) as SecretPayload;

interface Shape {
  rotateEvery?: number;
  grace?: number;
  /** When AWSCURRENT was written, relative to T0. */
  currentAt?: number;
  /** AWSPREVIOUS: its key live or revoked; read (payload known) or known by name only. */
  previous?: { live: boolean; read?: boolean; handMade?: boolean };
  /** AWSPENDING: ours (written `at`), the empty version of RotateSecret, a foreign value, or left on AWSCURRENT. */
  pending?: { kind: "ours" | "empty" | "foreign" | "on-current"; at?: number };
  /** A live key named after a version no label holds, minted at `at`. */
  unclaimed?: { at: number };
}

function secretState(shape: Shape): SecretState {
  const currentId = uuid();
  const currentAt = T0 + (shape.currentAt ?? 0);
  const currentKey = key(uuid(), nameFor(currentId), currentAt - 1_000);
  const labels: Record<string, string[]> = { [currentId]: ["AWSCURRENT"] };
  const liveKeys = [currentKey];
  const state: SecretState = {
    policy: {
      arn: ARN,
      name: "prod/search",
      projectId: PROJECT,
      environment: ENV,
      ...(shape.rotateEvery === undefined ? {} : { rotateEveryMs: shape.rotateEvery }),
      graceMs: shape.grace ?? 2 * HOUR,
    },
    versionIdsToStages: labels,
    current: {
      versionId: currentId,
      createdDate: new Date(currentAt),
      payload: payload(currentKey.id, currentId),
    },
    liveKeys,
    keyPrefix: DEFAULT_KEY_PREFIX,
    knownPrefixes: new Set([DEFAULT_KEY_PREFIX]),
  };
  if (shape.previous !== undefined) {
    const previousId = uuid();
    const previousKey = key(
      uuid(),
      shape.previous.handMade ? "made by hand" : nameFor(previousId),
      currentAt - 30 * DAY,
    );
    labels[previousId] = ["AWSPREVIOUS"];
    if (shape.previous.live) liveKeys.push(previousKey);
    const view: VersionView = { versionId: previousId };
    if (shape.previous.read)
      Object.assign(view, {
        payload: payload(previousKey.id, previousId),
        createdDate: new Date(currentAt - 30 * DAY),
      });
    state.previous = view;
  }
  if (shape.pending !== undefined) {
    const { kind } = shape.pending;
    if (kind === "on-current") {
      labels[currentId] = ["AWSCURRENT", "AWSPENDING"];
      state.pending = state.current;
    } else {
      const pendingId = uuid();
      labels[pendingId] = ["AWSPENDING"];
      const at = T0 + (shape.pending.at ?? 0);
      if (kind === "ours") {
        const pendingKey = key(uuid(), nameFor(pendingId), at - 1_000);
        liveKeys.push(pendingKey);
        state.pending = {
          versionId: pendingId,
          createdDate: new Date(at),
          payload: payload(pendingKey.id, pendingId),
        };
      } else if (kind === "empty") {
        state.pending = { versionId: pendingId, empty: true };
      } else {
        state.pending = { versionId: pendingId, createdDate: new Date(at), payloadError: "not our payload" };
      }
    }
  }
  if (shape.unclaimed !== undefined) liveKeys.push(key(uuid(), nameFor(uuid()), T0 + shape.unclaimed.at));
  return state;
}

/** The decision, in words a table can hold. */
function decision(plan: SecretPlan) {
  return {
    interrupted: plan.interrupted?.action ?? "-",
    rotation: plan.rotation.action === "rotate" ? `rotate (${plan.rotation.reason})` : plan.rotation.action,
    revoke: plan.revocations.map((r) => `${r.step}:${r.reason}`).join(",") || "-",
    waiting: plan.waiting.map((w) => w.kind).join(",") || "-",
    overdue: plan.overdue === undefined ? "-" : "overdue",
  };
}

type Row = [string, Shape, number, ReturnType<typeof decision>, { force?: boolean; revokeNow?: boolean }?];
const none = { interrupted: "-", revoke: "-", waiting: "-", overdue: "-" };

// [state, shape, now relative to T0, expected decision, options]
const table: Row[] = [
  ["fresh key, not due", { rotateEvery: DAY }, HOUR, { ...none, rotation: "none" }],
  ["fresh key, no rotate-every tag", {}, 400 * DAY, { ...none, rotation: "none" }],
  ["no rotate-every tag, forced", {}, HOUR, { ...none, rotation: "rotate (forced)" }, { force: true }],
  ["due exactly now", { rotateEvery: DAY }, DAY, { ...none, rotation: "rotate (due)" }],
  [
    "due, previous key already revoked",
    { rotateEvery: DAY, previous: { live: false } },
    2 * DAY,
    { ...none, rotation: "rotate (due)" },
  ],
  [
    "due, previous key live and in grace: wait (never three live keys)",
    { rotateEvery: HOUR, grace: DAY, previous: { live: true } },
    2 * HOUR,
    { ...none, rotation: "none", waiting: "in-grace", overdue: "overdue" },
  ],
  [
    "previous key in grace, forced: refused",
    { rotateEvery: 30 * DAY, grace: DAY, previous: { live: true } },
    HOUR,
    { ...none, rotation: "refuse", waiting: "in-grace" },
    { force: true },
  ],
  [
    "previous key one ms before created(current) + staging window + grace: kept",
    { rotateEvery: 30 * DAY, grace: HOUR, previous: { live: true } },
    STAGING_WINDOW_MS + HOUR - 1,
    { ...none, rotation: "none", waiting: "in-grace" },
  ],
  [
    "previous key at created(current) + staging window + grace: revoked",
    { rotateEvery: 30 * DAY, grace: HOUR, previous: { live: true } },
    STAGING_WINDOW_MS + HOUR,
    { ...none, rotation: "none", revoke: "revokePrevious:grace-passed" },
  ],
  [
    "previous key past grace and due: revoke first, then rotate",
    { rotateEvery: DAY, grace: HOUR, previous: { live: true } },
    DAY,
    { ...none, rotation: "rotate (due)", revoke: "revokePrevious:grace-passed" },
  ],
  [
    "previous key in grace, --revoke-now with --force: revoked now, rotated",
    { rotateEvery: 30 * DAY, grace: DAY, previous: { live: true } },
    HOUR,
    { ...none, rotation: "rotate (forced)", revoke: "revokePrevious:revoke-now" },
    { force: true, revokeNow: true },
  ],
  [
    "hand-made previous key, read by id, past grace: revoked",
    { rotateEvery: 30 * DAY, grace: HOUR, previous: { live: true, read: true, handMade: true } },
    2 * HOUR,
    { ...none, rotation: "none", revoke: "revokePrevious:grace-passed" },
  ],
  [
    "interrupted rotation, staged a minute ago: finish it, start nothing new",
    { rotateEvery: HOUR, pending: { kind: "ours", at: 2 * HOUR - MIN } },
    2 * HOUR,
    { ...none, interrupted: "finish", rotation: "none" },
  ],
  [
    "interrupted rotation, staged longer than PROMOTE_WITHIN ago: abandon, then rotate",
    { rotateEvery: HOUR, pending: { kind: "ours", at: 2 * HOUR - PROMOTE_WITHIN_MS - 1 } },
    2 * HOUR,
    { ...none, interrupted: "abandon", rotation: "rotate (due)" },
  ],
  [
    "AWSPENDING left on AWSCURRENT: clear the label",
    { rotateEvery: DAY, pending: { kind: "on-current" } },
    HOUR,
    { ...none, interrupted: "clear-label", rotation: "none" },
  ],
  [
    "AWSPENDING on RotateSecret's empty version: left to its driver",
    { rotateEvery: HOUR, pending: { kind: "empty" } },
    2 * HOUR,
    { ...none, interrupted: "foreign", rotation: "none" },
  ],
  [
    "AWSPENDING on another tool's value: refused with instructions",
    { rotateEvery: HOUR, pending: { kind: "foreign", at: HOUR } },
    2 * HOUR,
    { ...none, interrupted: "foreign", rotation: "none" },
  ],
  [
    "a key named after no version, minted a minute ago: in flight, left alone",
    { rotateEvery: 30 * DAY, unclaimed: { at: HOUR - MIN } },
    HOUR,
    { ...none, rotation: "none", waiting: "in-flight" },
  ],
  [
    "a key named after no version, older than the staging window, minted after AWSCURRENT: swept",
    { rotateEvery: 30 * DAY, unclaimed: { at: HOUR } },
    HOUR + STAGING_WINDOW_MS,
    { ...none, rotation: "none", revoke: "sweepOrphans:orphan" },
  ],
  [
    "a key named after no version, minted before AWSCURRENT (displaced twice: its grace ended before this rotation began): swept",
    { rotateEvery: 30 * DAY, grace: HOUR, currentAt: DAY, unclaimed: { at: 0 } },
    DAY + MIN,
    { ...none, rotation: "none", revoke: "sweepOrphans:orphan" },
  ],
];

describe("planSecret: secret state × time → decision", () => {
  it.each(table)("%s", (_name, shape, at, expected, options = {}) => {
    const plan = planSecret(secretState(shape), { ...options, wallNow: T0 + at }, T0 + at);
    expect(decision(plan)).toEqual(expected);
  });

  it("the same state and time give the same token to every rotator (invariant 5), and the next attempt skips taken tokens", () => {
    const state = secretState({ rotateEvery: HOUR });
    const first = planSecret(state, {}, T0 + 2 * HOUR);
    const again = planSecret(state, {}, T0 + 2 * HOUR);
    expect(first.rotation).toEqual(again.rotation);
    const taken = nextToken(state).token;
    const next = nextToken({ ...state, allVersionIds: new Set([taken]) });
    expect(next.attempt).toBe(1);
    expect(next.token).not.toBe(taken);
  });

  it("never plans to revoke the key AWSCURRENT or AWSPENDING holds, whatever the time (invariant 2)", () => {
    const state = secretState({ rotateEvery: HOUR, grace: 60_000, pending: { kind: "ours", at: 0 } });
    for (const at of [0, HOUR, 400 * DAY]) {
      for (const revokeNow of [false, true]) {
        const plan = planSecret(state, { revokeNow, wallNow: T0 + at }, T0 + at);
        const revoked = new Set(plan.revocations.map((r) => r.keyId));
        expect(revoked.has(state.current.payload.keyId)).toBe(false);
        expect(revoked.has(state.pending?.payload?.keyId as string)).toBe(false);
      }
    }
  });
});
