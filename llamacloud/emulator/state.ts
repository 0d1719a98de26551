import { randomBytes, randomUUID } from "node:crypto";
import type { ProjectRole, ResolvedSeed } from "./seed";

/**
 * The emulator's model of LlamaCloud: organizations, users, projects with per-user roles, keys
 * scoped to a user and a project, and revocations. No HTTP here (moto's `models.py` split): the
 * server maps {@link StateError}s to status codes and `{detail}` bodies, and tests may drive this
 * class directly.
 *
 * Access rules (docs: "keys are scoped to the user who created them and to one project; they cannot
 * be used across projects"; beta docstrings: creating or deleting a project's key needs admin):
 * - a project key acts only on its own project, and only while its user keeps a role there;
 * - a user-wide key (project id null: only seeded keys are, e.g. the emulator's admin key) acts on
 *   every project its user has a role in [inferred: lets one admin key manage several projects];
 * - creating and deleting keys needs the admin role on the key's project; renaming needs only reach
 *   to the project and the key must be the caller's own;
 * - lists show the caller's own live keys ("List API Keys for a user."), within the key's reach.
 */

/** Why a state operation was refused; the server turns `kind` into a status and `detail`. */
export type StateErrorKind = "invalid-token" | "forbidden" | "key-not-found" | "project-not-found";

export class StateError extends Error {
  override name = "StateError";
  readonly kind: StateErrorKind;
  constructor(kind: StateErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Who is calling: the key that authenticated and its scope. */
export interface Principal {
  keyId: string;
  userId: string;
  /** Null for a user-wide key. */
  projectId: string | null;
}

export interface OrganizationRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface ProjectRecord {
  id: string;
  name: string;
  organizationId: string;
  isDefault: boolean;
  createdAt: number;
}

export interface UserRecord {
  id: string;
  name: string;
  roles: Map<string, ProjectRole>;
}

/** A key as the state holds it. `secret` never leaves through the API except in the create response. */
export interface KeyRecord {
  id: string;
  name: string | null;
  projectId: string | null;
  userId: string;
  secret: string;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
}

/** A key as tests inspect it (`allKeys()`), revoked ones included. */
export interface KeySnapshot {
  id: string;
  name: string | null;
  projectId: string | null;
  userId: string;
  /** The plaintext: the emulator is a test tool and leak scans need it. */
  secret: string;
  createdAt: string;
  revokedAt: string | null;
  /** Whether the key authenticates right now (revoked keys do during the revocation delay). */
  live: boolean;
}

export interface EmulatorStateOptions {
  /** The clock; tests inject one to step through revocation delays. */
  now?: () => number;
  /** How long a revoked key keeps authenticating (LlamaCloud: "may take up to a minute"). */
  revocationDelayMs?: number;
  /**
   * Called once per key this state issues, seeded or minted (a reset's seeded keys are not issued
   * again), synchronously before the key is usable: a recorder that writes synchronously has the key
   * even if the process is killed right after. The server and the CLI wire leak-scan lists here.
   */
  onIssued?: (secret: string) => void;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `llx-` + 48 letters and digits from crypto random bytes (rejection sampling keeps it unbiased). */
export function mintSecret(): string {
  let out = "llx-";
  while (out.length < 52) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 · 62: bytes above it would favour the first characters of the alphabet.
      if (byte < 248 && out.length < 52) out += alphabet[byte % 62];
    }
  }
  return out;
}

export class EmulatorState {
  readonly now: () => number;
  revocationDelayMs: number;
  readonly seed: ResolvedSeed;

  private organizations = new Map<string, OrganizationRecord>();
  private projects = new Map<string, ProjectRecord>();
  private users = new Map<string, UserRecord>();
  private keys = new Map<string, KeyRecord>();
  private keysBySecret = new Map<string, KeyRecord>();
  // Live keys per user, so a list costs the user's keys, not every key ever minted.
  private liveKeysByUser = new Map<string, Map<string, KeyRecord>>();
  // Every plaintext ever minted, across resets: leak scans must cover keys that no longer exist.
  private issued = new Set<string>();
  private seededKeyIds: string[] = [];
  private readonly onIssued: ((secret: string) => void) | undefined;

  constructor(seed: ResolvedSeed, options: EmulatorStateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.onIssued = options.onIssued;
    this.revocationDelayMs = options.revocationDelayMs ?? 0;
    // Fix seeded secrets and ids once, so a reset hands back the same admin key.
    this.seed = {
      ...seed,
      users: seed.users.map((user) => ({
        ...user,
        roles: new Map(user.roles),
        keys: user.keys.map((key) => ({ ...key, secret: key.secret ?? mintSecret() })),
      })),
    };
    this.reset();
  }

  /** Back to the seed: seeded keys live again with their original secrets; minted keys gone. */
  reset(): void {
    const at = this.now();
    this.organizations.clear();
    this.projects.clear();
    this.users.clear();
    this.keys.clear();
    this.keysBySecret.clear();
    this.liveKeysByUser.clear();
    for (const org of this.seed.organizations) this.organizations.set(org.id, { ...org, createdAt: at });
    for (const project of this.seed.projects) this.projects.set(project.id, { ...project, createdAt: at });
    const firstIds = this.seededKeyIds.length > 0;
    let index = 0;
    for (const user of this.seed.users) {
      this.users.set(user.id, { id: user.id, name: user.name, roles: new Map(user.roles) });
      for (const key of user.keys) {
        if (!firstIds) this.seededKeyIds.push(randomUUID());
        const id = this.seededKeyIds[index++]!;
        this.insertKey({
          id,
          name: key.name,
          projectId: key.projectId,
          userId: user.id,
          secret: key.secret!,
        });
      }
    }
  }

  /** The first seeded key (of the first user): the emulator's admin key. */
  get adminKey(): string {
    return this.seed.users[0]!.keys[0]!.secret!;
  }

  private insertKey(fields: Pick<KeyRecord, "id" | "name" | "projectId" | "userId" | "secret">): KeyRecord {
    const at = this.now();
    const record: KeyRecord = { ...fields, createdAt: at, updatedAt: at, revokedAt: null };
    this.keys.set(record.id, record);
    this.keysBySecret.set(record.secret, record);
    if (!this.issued.has(record.secret)) {
      this.issued.add(record.secret);
      this.onIssued?.(record.secret);
    }
    let live = this.liveKeysByUser.get(record.userId);
    if (live === undefined) {
      live = new Map();
      this.liveKeysByUser.set(record.userId, live);
    }
    live.set(record.id, record);
    return record;
  }

  private isLive(key: KeyRecord, at: number = this.now()): boolean {
    // Docs: revocation is "eventually consistent, may take up to a minute": a revoked key keeps
    // authenticating for revocationDelayMs.
    return key.revokedAt === null || at < key.revokedAt + this.revocationDelayMs;
  }

  /**
   * The principal for a bearer token. Throws `invalid-token` for an unknown or revoked key
   * (after the revocation delay). A missing or malformed header is the server's to reject.
   */
  authenticate(token: string): Principal {
    const key = this.keysBySecret.get(token);
    if (key === undefined || !this.isLive(key))
      throw new StateError("invalid-token", "Invalid authentication token");
    return { keyId: key.id, userId: key.userId, projectId: key.projectId };
  }

  private role(principal: Principal, projectId: string): ProjectRole | undefined {
    if (principal.projectId !== null && principal.projectId !== projectId) return undefined;
    return this.users.get(principal.userId)?.roles.get(projectId);
  }

  /** The project, if the principal reaches it; `forbidden` or `project-not-found` otherwise. */
  private reachableProject(principal: Principal, projectId: string): ProjectRecord {
    const project = this.projects.get(projectId);
    // A project key asking about another project learns nothing, not even whether it exists.
    if (principal.projectId !== null && principal.projectId !== projectId) throw forbidden();
    if (project === undefined) throw new StateError("project-not-found", "Project not found");
    if (this.role(principal, projectId) === undefined) throw forbidden();
    return project;
  }

  /** The user's default project: the first `isDefault` project they reach, else the first one. */
  private defaultProject(principal: Principal): ProjectRecord {
    if (principal.projectId !== null) return this.reachableProject(principal, principal.projectId);
    const reachable = [...this.projects.values()].filter((p) => this.role(principal, p.id) !== undefined);
    const chosen = reachable.find((p) => p.isDefault) ?? reachable[0];
    if (chosen === undefined) throw forbidden();
    return chosen;
  }

  /**
   * Mints a key for `projectId` (null: the caller's project, or its user's default project
   * [inferred]) owned by the caller's user. Needs the admin role on that project.
   */
  createApiKey(principal: Principal, input: { name: string | null; projectId: string | null }): KeyRecord {
    const project =
      input.projectId === null
        ? this.defaultProject(principal)
        : this.reachableProject(principal, input.projectId);
    if (this.role(principal, project.id) !== "admin") throw forbidden();
    return this.insertKey({
      id: randomUUID(),
      name: input.name,
      projectId: project.id,
      userId: principal.userId,
      secret: mintSecret(),
    });
  }

  /** The caller's live keys within its reach, optionally of one project; oldest first. */
  listApiKeys(principal: Principal, filter: { projectId?: string } = {}): KeyRecord[] {
    if (filter.projectId !== undefined) this.reachableProject(principal, filter.projectId);
    const out: KeyRecord[] = [];
    // Revoked keys leave lists at once (deleteApiKey drops them here); only authentication lags.
    for (const key of this.liveKeysByUser.get(principal.userId)?.values() ?? []) {
      if (filter.projectId !== undefined && key.projectId !== filter.projectId) continue;
      if (principal.projectId !== null && key.projectId !== principal.projectId) continue;
      out.push(key);
    }
    return out;
  }

  private liveKey(id: string): KeyRecord {
    const key = this.keys.get(id);
    // The reference leaves 404 for an unknown id [unknown]; the emulator uses "API key not found".
    if (key === undefined || key.revokedAt !== null)
      throw new StateError("key-not-found", "API key not found");
    return key;
  }

  private keyInReach(principal: Principal, key: KeyRecord): void {
    if (key.projectId === null) {
      // A user-wide key is managed only by its own user.
      if (key.userId !== principal.userId) throw forbidden();
      return;
    }
    this.reachableProject(principal, key.projectId);
  }

  /** Renames one of the caller's own keys. */
  renameApiKey(principal: Principal, id: string, name: string | null): KeyRecord {
    const key = this.liveKey(id);
    this.keyInReach(principal, key);
    if (key.userId !== principal.userId) throw forbidden();
    key.name = name;
    key.updatedAt = this.now();
    return key;
  }

  /** Revokes a key; needs the admin role on the key's project (any user's key there). */
  deleteApiKey(principal: Principal, id: string): void {
    const key = this.liveKey(id);
    this.keyInReach(principal, key);
    if (key.projectId !== null && this.role(principal, key.projectId) !== "admin") throw forbidden();
    key.revokedAt = this.now();
    key.updatedAt = key.revokedAt;
    this.liveKeysByUser.get(key.userId)?.delete(key.id);
  }

  getProject(principal: Principal, id: string): ProjectRecord {
    return this.reachableProject(principal, id);
  }

  /** The key's project, or its user's default one; `projectId`/`organizationId` narrow it. */
  currentProject(
    principal: Principal,
    hints: { projectId?: string; organizationId?: string } = {},
  ): ProjectRecord {
    if (hints.projectId !== undefined) return this.reachableProject(principal, hints.projectId);
    const project = this.defaultProject(principal);
    if (hints.organizationId !== undefined && project.organizationId !== hints.organizationId) {
      const inOrg = [...this.projects.values()].find(
        (p) => p.organizationId === hints.organizationId && this.role(principal, p.id) !== undefined,
      );
      if (inOrg === undefined) throw forbidden();
      return inOrg;
    }
    return project;
  }

  /** Projects the caller reaches, filtered by exact name and organization. */
  findProjects(
    principal: Principal,
    filter: { name?: string; organizationId?: string } = {},
  ): ProjectRecord[] {
    return [...this.projects.values()].filter(
      (p) =>
        this.role(principal, p.id) !== undefined &&
        (filter.name === undefined || p.name === filter.name) &&
        (filter.organizationId === undefined || p.organizationId === filter.organizationId),
    );
  }

  /** Organizations holding a project the caller reaches. */
  listOrganizations(principal: Principal): OrganizationRecord[] {
    const ids = new Set(this.findProjects(principal).map((p) => p.organizationId));
    return [...this.organizations.values()].filter((org) => ids.has(org.id));
  }

  /** Every key, revoked ones included, with plaintext secrets (test inspection). */
  allKeys(): KeySnapshot[] {
    const at = this.now();
    return [...this.keys.values()].map((key) => ({
      id: key.id,
      name: key.name,
      projectId: key.projectId,
      userId: key.userId,
      secret: key.secret,
      createdAt: new Date(key.createdAt).toISOString(),
      revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
      live: this.isLive(key, at),
    }));
  }

  /** Every plaintext key ever minted or seeded, for leak scans. */
  issuedSecrets(): string[] {
    return [...this.issued];
  }

  /** Organizations, projects and users as seeded, for the control API. */
  describe(): {
    organizations: { id: string; name: string }[];
    projects: { id: string; name: string; organizationId: string; isDefault: boolean }[];
    users: { id: string; name: string; roles: Record<string, ProjectRole> }[];
  } {
    return {
      organizations: [...this.organizations.values()].map(({ id, name }) => ({ id, name })),
      projects: [...this.projects.values()].map(({ id, name, organizationId, isDefault }) => ({
        id,
        name,
        organizationId,
        isDefault,
      })),
      users: [...this.users.values()].map((user) => ({
        id: user.id,
        name: user.name,
        roles: Object.fromEntries(user.roles),
      })),
    };
  }
}

function forbidden(): StateError {
  return new StateError("forbidden", "User does not have access to this resource");
}
