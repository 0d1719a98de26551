import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * What the emulator starts with (and returns to on reset): organizations, projects, users with
 * per-project roles, and their keys. A JSON file in this shape is what `llamacloud-keys emulator
 * --seed FILE` reads; every field is documented in `README.md` next to this file.
 */

const uuid = z.uuid({ message: "expected a uuid" });
const name = z.string().min(1).max(3000);
const keySecret = z
  .string()
  .regex(/^llx-[A-Za-z0-9]{16,}$/, "expected llx- followed by 16+ letters and digits");

export const emulatorSeedSchema = z
  .object({
    organizations: z
      .array(z.object({ id: uuid.optional(), name }).strict())
      .min(1, "at least one organization is needed"),
    projects: z
      .array(
        z
          .object({
            id: uuid.optional(),
            name,
            /** Organization name or id; defaults to the first organization. */
            organization: z.string().optional(),
            isDefault: z.boolean().optional(),
          })
          .strict(),
      )
      .min(1, "at least one project is needed"),
    users: z
      .array(
        z
          .object({
            id: z.string().min(1).optional(),
            name,
            /** Projects (name or id) the user administers; `"*"` for all of them. */
            admin: z.union([z.literal("*"), z.array(z.string())]).optional(),
            /** Projects (name or id) the user may use but not manage keys of. */
            member: z.array(z.string()).optional(),
            keys: z
              .array(
                z
                  .object({
                    name: z.string().max(3000).nullable().optional(),
                    /** Project (name or id) the key is scoped to; null or absent: a user-wide key. */
                    project: z.string().nullable().optional(),
                    /** A fixed secret (handy for demos); otherwise one is minted. */
                    secret: keySecret.optional(),
                  })
                  .strict(),
              )
              .optional(),
          })
          .strict(),
      )
      .min(1, "at least one user is needed")
      .refine((users) => users.length === 0 || (users[0]?.keys?.length ?? 0) > 0, {
        message: "the first user needs at least one key: it becomes the emulator's admin key",
        path: [0, "keys"],
      }),
  })
  .strict();

export type EmulatorSeed = z.infer<typeof emulatorSeedSchema>;

/** One organization, one admin user with one user-wide key, projects `default` and `search`. */
export const defaultSeed: EmulatorSeed = {
  organizations: [{ name: "Emulated Organization" }],
  projects: [{ name: "default", isDefault: true }, { name: "search" }],
  users: [{ name: "admin", admin: "*", keys: [{ name: "emulator-admin", project: null }] }],
};

export type ProjectRole = "admin" | "member";

/** A seed with every id assigned and every reference resolved; reset returns to exactly this. */
export interface ResolvedSeed {
  organizations: { id: string; name: string }[];
  projects: { id: string; name: string; organizationId: string; isDefault: boolean }[];
  users: {
    id: string;
    name: string;
    roles: Map<string, ProjectRole>;
    keys: { name: string | null; projectId: string | null; secret?: string }[];
  }[];
}

/** Thrown for a seed that parses but does not hang together (unknown or ambiguous references). */
export class SeedError extends Error {
  override name = "SeedError";
  constructor(problem: string) {
    super(`Invalid emulator seed: ${problem}`);
  }
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.join(".") || "(seed)"}: ${issue.message}`).join("; ");
}

/** Validates `input` (parsed JSON) and resolves its references. Throws {@link SeedError}. */
export function resolveSeed(input: unknown): ResolvedSeed {
  const parsed = emulatorSeedSchema.safeParse(input);
  if (!parsed.success) throw new SeedError(formatIssues(parsed.error.issues));
  const seed = parsed.data;

  const organizations = seed.organizations.map((org) => ({ id: org.id ?? randomUUID(), name: org.name }));
  const findOrganization = (ref: string | undefined, where: string): string => {
    if (ref === undefined) return organizations[0]!.id;
    const matches = organizations.filter((org) => org.id === ref || org.name === ref);
    if (matches.length !== 1) {
      throw new SeedError(
        `${where}: organization ${JSON.stringify(ref)} is ${matches.length ? "ambiguous" : "unknown"}`,
      );
    }
    return matches[0]!.id;
  };
  const projects = seed.projects.map((project, index) => ({
    id: project.id ?? randomUUID(),
    name: project.name,
    organizationId: findOrganization(project.organization, `projects.${index}.organization`),
    isDefault: project.isDefault ?? false,
  }));
  const findProject = (ref: string, where: string): string => {
    const matches = projects.filter((project) => project.id === ref || project.name === ref);
    if (matches.length !== 1) {
      throw new SeedError(
        `${where}: project ${JSON.stringify(ref)} is ${matches.length ? "ambiguous (refer to it by id)" : "unknown"}`,
      );
    }
    return matches[0]!.id;
  };

  const secrets = new Set<string>();
  const users = seed.users.map((user, userIndex) => {
    const roles = new Map<string, ProjectRole>();
    for (const [i, ref] of (user.member ?? []).entries()) {
      roles.set(findProject(ref, `users.${userIndex}.member.${i}`), "member");
    }
    if (user.admin === "*") for (const project of projects) roles.set(project.id, "admin");
    else {
      for (const [i, ref] of (user.admin ?? []).entries()) {
        roles.set(findProject(ref, `users.${userIndex}.admin.${i}`), "admin");
      }
    }
    const keys = (user.keys ?? []).map((key, keyIndex) => {
      const projectId =
        key.project === undefined || key.project === null
          ? null
          : findProject(key.project, `users.${userIndex}.keys.${keyIndex}.project`);
      if (projectId !== null && !roles.has(projectId)) {
        throw new SeedError(`users.${userIndex}.keys.${keyIndex}: the user has no role on that project`);
      }
      if (key.secret !== undefined) {
        if (secrets.has(key.secret))
          throw new SeedError(`users.${userIndex}.keys.${keyIndex}: duplicate secret`);
        secrets.add(key.secret);
      }
      return {
        name: key.name ?? null,
        projectId,
        ...(key.secret === undefined ? {} : { secret: key.secret }),
      };
    });
    return { id: user.id ?? randomUUID(), name: user.name, roles, keys };
  });
  return { organizations, projects, users };
}
