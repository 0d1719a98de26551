import { describe, expect, it } from "vitest";
import { EmulatorState, StateError } from "../../llamacloud/emulator";
import { defaultSeed, type EmulatorSeed, resolveSeed, SeedError } from "../../llamacloud/emulator/seed";
import { mintSecret } from "../../llamacloud/emulator/state";

const ORG = "0a000000-0000-4000-8000-000000000000";
const DEFAULT = "0d000000-0000-4000-8000-000000000000";
const SEARCH = "05000000-0000-4000-8000-000000000000";

const seed: EmulatorSeed = {
  organizations: [{ id: ORG, name: "org" }],
  projects: [
    { id: DEFAULT, name: "default", isDefault: true },
    { id: SEARCH, name: "search" },
  ],
  users: [
    { id: "admin", name: "admin", admin: "*", keys: [{ name: "admin" }] },
    { id: "member", name: "member", member: ["default"], keys: [{ name: "member", project: "default" }] },
  ],
};

function setup(options: { revocationDelayMs?: number } = {}) {
  let clock = Date.parse("2030-01-01T00:00:00Z");
  const state = new EmulatorState(resolveSeed(seed), { now: () => clock, ...options });
  const admin = state.authenticate(state.adminKey);
  const memberSecret = state.allKeys().find((k) => k.name === "member")!.secret;
  const member = state.authenticate(memberSecret);
  return { state, admin, member, tick: (ms: number) => (clock += ms) };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof StateError) return `${error.kind}: ${error.message}`;
    throw error;
  }
  throw new Error("expected a StateError");
}

describe("emulator state: keys and scopes", () => {
  it("mints llx- + 48 alphanumerics, all distinct", () => {
    const secrets = new Set(Array.from({ length: 200 }, mintSecret));
    expect(secrets.size).toBe(200);
    for (const secret of secrets) expect(secret).toMatch(/^llx-[A-Za-z0-9]{48}$/);
  });

  it("a key created for a project reaches that project only", () => {
    const { state, admin } = setup();
    const key = state.createApiKey(admin, { name: "k", projectId: SEARCH });
    const principal = state.authenticate(key.secret);
    expect(principal).toEqual({ keyId: key.id, userId: "admin", projectId: SEARCH });
    expect(state.getProject(principal, SEARCH).name).toBe("search");
    expect(refusal(() => state.getProject(principal, DEFAULT))).toBe(
      "forbidden: User does not have access to this resource",
    );
    // Even an unknown project id is a 403 for a project key: it learns nothing about other projects.
    expect(refusal(() => state.getProject(principal, "ffffffff-0000-4000-8000-000000000000"))).toMatch(
      /^forbidden/,
    );
    expect(refusal(() => state.getProject(admin, "ffffffff-0000-4000-8000-000000000000"))).toBe(
      "project-not-found: Project not found",
    );
  });

  it("the seeded admin key is user-wide: it manages keys of every seeded project", () => {
    const { state, admin } = setup();
    expect(admin.projectId).toBeNull();
    expect(state.createApiKey(admin, { name: "a", projectId: DEFAULT }).projectId).toBe(DEFAULT);
    expect(state.createApiKey(admin, { name: "b", projectId: SEARCH }).projectId).toBe(SEARCH);
    // No project given: the user's default project [inferred].
    expect(state.createApiKey(admin, { name: "c", projectId: null }).projectId).toBe(DEFAULT);
  });

  it("creating and deleting keys needs project admin; members may use but not manage", () => {
    const { state, admin, member } = setup();
    expect(state.getProject(member, DEFAULT).id).toBe(DEFAULT);
    expect(refusal(() => state.createApiKey(member, { name: "x", projectId: DEFAULT }))).toMatch(
      /^forbidden/,
    );
    const adminsKey = state.createApiKey(admin, { name: "y", projectId: DEFAULT });
    expect(refusal(() => state.deleteApiKey(member, adminsKey.id))).toMatch(/^forbidden/);
    // A key created by a project admin is still scoped to that admin's user: a project key of it can
    // create keys in its own project only.
    const scoped = state.authenticate(state.createApiKey(admin, { name: "s", projectId: SEARCH }).secret);
    expect(state.createApiKey(scoped, { name: "t", projectId: null }).projectId).toBe(SEARCH);
    expect(refusal(() => state.createApiKey(scoped, { name: "u", projectId: DEFAULT }))).toMatch(
      /^forbidden/,
    );
  });

  it("lists only the caller's own live keys, within its reach, filtered by project", () => {
    const { state, admin, member } = setup();
    const a = state.createApiKey(admin, { name: "a", projectId: DEFAULT });
    const b = state.createApiKey(admin, { name: "b", projectId: SEARCH });
    expect(state.listApiKeys(admin, { projectId: SEARCH }).map((k) => k.id)).toEqual([b.id]);
    expect(state.listApiKeys(admin).map((k) => k.name)).toEqual(["admin", "a", "b"]);
    expect(state.listApiKeys(member).map((k) => k.name)).toEqual(["member"]);
    expect(refusal(() => state.listApiKeys(member, { projectId: SEARCH }))).toMatch(/^forbidden/);
    const scoped = state.authenticate(b.secret);
    expect(state.listApiKeys(scoped).map((k) => k.id)).toEqual([b.id]);
    state.deleteApiKey(admin, a.id);
    expect(state.listApiKeys(admin, { projectId: DEFAULT })).toEqual([]);
  });

  it("rename changes the name and updatedAt of the caller's own key only", () => {
    const { state, admin, member, tick } = setup();
    const key = state.createApiKey(admin, { name: "old", projectId: DEFAULT });
    tick(1000);
    const renamed = state.renameApiKey(admin, key.id, "new");
    expect(renamed.name).toBe("new");
    expect(renamed.updatedAt).toBe(key.createdAt + 1000);
    expect(refusal(() => state.renameApiKey(member, key.id, "mine"))).toMatch(/^forbidden/);
  });

  it("unknown and already-deleted key ids are 'API key not found'", () => {
    const { state, admin } = setup();
    expect(refusal(() => state.deleteApiKey(admin, "ffffffff-0000-4000-8000-000000000000"))).toBe(
      "key-not-found: API key not found",
    );
    const key = state.createApiKey(admin, { name: "k", projectId: DEFAULT });
    state.deleteApiKey(admin, key.id);
    expect(refusal(() => state.deleteApiKey(admin, key.id))).toBe("key-not-found: API key not found");
    expect(refusal(() => state.renameApiKey(admin, key.id, "n"))).toMatch(/^key-not-found/);
  });
});

describe("emulator state: revocation", () => {
  it("a revoked key stops authenticating at once without a revocation delay", () => {
    const { state, admin } = setup();
    const key = state.createApiKey(admin, { name: "k", projectId: DEFAULT });
    state.deleteApiKey(admin, key.id);
    expect(refusal(() => state.authenticate(key.secret))).toBe("invalid-token: Invalid authentication token");
    expect(state.allKeys().find((k) => k.id === key.id)).toMatchObject({
      live: false,
      revokedAt: expect.any(String),
    });
  });

  it("with a revocation delay, a revoked key keeps working for exactly that long", () => {
    const { state, admin, tick } = setup({ revocationDelayMs: 60_000 });
    const key = state.createApiKey(admin, { name: "k", projectId: DEFAULT });
    state.deleteApiKey(admin, key.id);
    tick(59_999);
    expect(state.authenticate(key.secret).keyId).toBe(key.id);
    expect(state.allKeys().find((k) => k.id === key.id)?.live).toBe(true);
    // It is already gone from lists and cannot be deleted twice: only authentication lags.
    expect(state.listApiKeys(admin, { projectId: DEFAULT })).toEqual([]);
    tick(1);
    expect(refusal(() => state.authenticate(key.secret))).toMatch(/^invalid-token/);
  });

  it("issuedSecrets remembers every key ever minted, across resets; reset keeps the admin key", () => {
    const { state, admin } = setup();
    const adminKey = state.adminKey;
    const key = state.createApiKey(admin, { name: "k", projectId: DEFAULT });
    state.reset();
    expect(state.issuedSecrets()).toContain(key.secret);
    expect(state.issuedSecrets()).toContain(adminKey);
    expect(state.adminKey).toBe(adminKey);
    expect(state.allKeys().map((k) => k.name)).toEqual(["admin", "member"]);
    expect(refusal(() => state.authenticate(key.secret))).toMatch(/^invalid-token/);
  });
});

describe("emulator state: projects and organizations", () => {
  it("finds projects by exact name and organization; current project falls back to the default", () => {
    const { state, admin, member } = setup();
    expect(state.findProjects(admin, { name: "search" }).map((p) => p.id)).toEqual([SEARCH]);
    expect(state.findProjects(admin, { name: "sea" })).toEqual([]);
    expect(state.findProjects(member).map((p) => p.name)).toEqual(["default"]);
    expect(state.currentProject(admin).id).toBe(DEFAULT);
    expect(state.listOrganizations(member).map((o) => o.id)).toEqual([ORG]);
  });
});

describe("seed validation", () => {
  it("the default seed: one organization, an admin with a user-wide key, projects default and search", () => {
    const resolved = resolveSeed(defaultSeed);
    expect(resolved.organizations).toHaveLength(1);
    expect(resolved.projects.map((p) => p.name)).toEqual(["default", "search"]);
    expect(resolved.users[0]?.keys).toEqual([{ name: "emulator-admin", projectId: null }]);
  });

  it("rejects bad seeds naming the field", () => {
    const attempt = (input: unknown) => {
      try {
        resolveSeed(input);
      } catch (error) {
        if (error instanceof SeedError) return error.message;
      }
      throw new Error("expected a SeedError");
    };
    expect(attempt({ organizations: [], projects: [{ name: "p" }], users: [] })).toMatchInlineSnapshot(
      `"Invalid emulator seed: organizations: at least one organization is needed; users: at least one user is needed"`,
    );
    expect(
      attempt({
        organizations: [{ name: "o" }],
        projects: [{ name: "p" }],
        users: [{ name: "u", admin: ["nope"], keys: [{}] }],
      }),
    ).toMatchInlineSnapshot(`"Invalid emulator seed: users.0.admin.0: project "nope" is unknown"`);
    expect(
      attempt({
        organizations: [{ name: "o" }],
        projects: [{ name: "p" }],
        users: [{ name: "u", keys: [{ secret: "llx-short" }] }],
      }),
    ).toMatchInlineSnapshot(
      `"Invalid emulator seed: users.0.keys.0.secret: expected llx- followed by 16+ letters and digits"`,
    );
  });
});
