/**
 * Secrets Manager's `RotationRules` (native rotation), validated as Secrets Manager validates them,
 * so a bad schedule fails at `check`/declaration time instead of at `RotateSecret`. The one home of
 * these rules: `ApiKey`'s `rotation.schedule`/`rotation.window` and `ProjectKeys`' native mode
 * (`rotation.every`, `rotation.native.window`) both use it, each naming its own fields.
 *
 * What AWS documents (RotationRulesType, "Rotation schedules" in the user guide):
 * - `AutomaticallyAfterDays` (1–1000) or `ScheduleExpression`, never both;
 * - `rate(Value Unit)`, Unit `hour`, `hours`, `day` or `days`; at most every 4 hours, at most 999 days;
 * - `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: Minutes `0` (windows open on the
 *   hour), Year `*`, one of Day-of-month and Day-of-week `?`; hour increments reset each day, and
 *   no two rotation hours closer than 4 hours;
 * - `Duration` (the window) `Nh`, 1h–24h: it must not run into the next rotation window, nor past
 *   the end of the UTC day in which it opens (at midnight for rate() and days, at the cron's hour).
 */

/** `RotationRules` as RotateSecret takes and DescribeSecret returns them. */
export interface RotationRules {
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  duration?: string;
}

/** How the caller names the schedule and the window in its messages, e.g. `rotation.schedule`. */
export interface RotationRuleFields {
  schedule: string;
  window: string;
}

/** One problem with a rule, on the field the caller named. */
export interface RotationRuleIssue {
  field: string;
  message: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MIN_HOURS = 4;
/** Secrets Manager rotates a secret at most every 4 hours. */
export const MIN_ROTATION_INTERVAL_MS = MIN_HOURS * HOUR_MS;
const MAX_DAYS = 1000;
const MAX_RATE_DAYS = 999;

const ratePattern = /^rate\((\d+) (hour|hours|day|days)\)$/;
const cronPattern = /^cron\((.*)\)$/;
const durationPattern = /^(\d+)h$/;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** The schedule a rule set describes: when the rotation windows open, as far as validation needs. */
type Schedule =
  /** Every `hours` hours from midnight (rate in hours). */
  | { kind: "hours"; hours: number }
  /** Once on the days it runs, window opening at `hour` (days, rate in days, daily cron). */
  | { kind: "daily"; hour: number }
  /** Several windows a day, opening at these hours (cron with a list, range or increment of hours). */
  | { kind: "hourly"; hours: number[] };

/**
 * Every problem with `rules`, each naming the field (as `fields` names it) and the fix. Empty when
 * Secrets Manager would accept them.
 */
export function rotationRulesIssues(rules: RotationRules, fields: RotationRuleFields): RotationRuleIssue[] {
  const issues: RotationRuleIssue[] = [];
  const onSchedule = (message: string) => issues.push({ field: fields.schedule, message });
  const { automaticallyAfterDays: days, scheduleExpression: expression } = rules;
  let schedule: Schedule | undefined;
  if (days !== undefined && expression !== undefined) {
    onSchedule(
      `"${fields.schedule}" must be a schedule expression or a number of days, not both (RotationRules ` +
        "takes AutomaticallyAfterDays or ScheduleExpression): keep one",
    );
  } else if (days !== undefined) {
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
      onSchedule(
        `"${fields.schedule}" must be a whole number of days from 1 to ${MAX_DAYS} (AutomaticallyAfterDays): ` +
          `Secrets Manager allows at least 1 and at most ${MAX_DAYS} days, e.g. 30`,
      );
    } else schedule = { kind: "daily", hour: 0 };
  } else if (expression === undefined) {
    onSchedule(
      `"${fields.schedule}" is required: a number of days, rate(N hours|days) or cron(...), e.g. "rate(30 days)"`,
    );
  } else if (expression.startsWith("rate(")) {
    schedule = rateSchedule(expression, fields.schedule, onSchedule);
  } else if (expression.startsWith("cron(")) {
    schedule = cronSchedule(expression, fields.schedule, onSchedule);
  } else {
    onSchedule(
      `"${fields.schedule}" must be rate(N hours|days), cron(0 H D M W *) or a number of days, e.g. "rate(30 days)" ` +
        'or "cron(0 4 1 * ? *)"',
    );
  }
  if (rules.duration !== undefined) {
    const issue = windowIssue(rules.duration, schedule, fields);
    if (issue !== undefined) issues.push({ field: fields.window, message: issue });
  }
  return issues;
}

function rateSchedule(expression: string, field: string, issue: (m: string) => void): Schedule | undefined {
  const match = ratePattern.exec(expression);
  if (match === null) {
    issue(
      `"${field}" must read rate(N hours) or rate(N days) with N a positive whole number, e.g. "rate(30 days)"`,
    );
    return undefined;
  }
  const value = Number(match[1]);
  const inHours = match[2]!.startsWith("hour");
  if (value < 1 || match[1]!.startsWith("0")) {
    issue(`"${field}" must use a positive whole number without leading zeros, e.g. "rate(30 days)"`);
    return undefined;
  }
  if (inHours && value < MIN_HOURS) {
    issue(
      `"${field}" must be at most every 4 hours: Secrets Manager rotates no more often; use rate(4 hours) or more`,
    );
    return undefined;
  }
  if ((inHours ? value / 24 : value) > MAX_RATE_DAYS) {
    issue(`"${field}" must be at most ${MAX_RATE_DAYS} days apart, e.g. "rate(90 days)"`);
    return undefined;
  }
  // A rate of whole days (in days or hours) opens its window at midnight, once a day at most.
  if (!inHours || value % 24 === 0) return { kind: "daily", hour: 0 };
  return { kind: "hours", hours: value };
}

function cronSchedule(expression: string, field: string, issue: (m: string) => void): Schedule | undefined {
  const body = cronPattern.exec(expression)?.[1]?.trim() ?? "";
  const parts = body.split(/\s+/);
  const shape = `cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. "cron(0 4 1 * ? *)"`;
  if (parts.length !== 6 || body === "") {
    issue(`"${field}" must have six fields: ${shape}`);
    return undefined;
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const before = { count: 0 };
  const fail = (message: string) => {
    before.count += 1;
    issue(`"${field}" ${message}: ${shape}`);
  };
  if (minutes !== "0") fail("must have 0 in the minutes field (rotation windows open on the hour)");
  if (year !== "*")
    fail("must have * in the year field (schedules more than a year apart are not supported)");
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    fail("must have ? in exactly one of the day-of-month and day-of-week fields");
  }
  if (dayOfMonth !== "?" && !fieldMatches(dayOfMonth, /^(L|(\*|\d{1,2})(-\d{1,2})?(\/\d{1,2})?)$/, 1, 31)) {
    fail("has a day-of-month field outside 1-31 (wildcards , - * ? / L)");
  }
  if (!fieldMatches(replaceNames(month, MONTHS, 1), /^(\*|\d{1,2}(-\d{1,2})?)(\/\d{1,2})?$/, 1, 12)) {
    fail("has a month field outside 1-12 or JAN-DEC (wildcards , - * /)");
  }
  if (
    dayOfWeek !== "?" &&
    !fieldMatches(replaceNames(dayOfWeek, WEEKDAYS, 1), /^(\*|\d(L)?|\d#[1-5]|\d-\d|L)(\/\d)?$/, 1, 7)
  ) {
    fail("has a day-of-week field outside 1-7 or SUN-SAT (wildcards # , - * ? / L)");
  }
  const hourSet = expandHours(hours);
  if (hourSet === undefined) fail("has an hours field outside 0-23 (wildcards , - * /)");
  if (before.count > 0 || hourSet === undefined) return undefined;
  if (hourSet.length === 1) return { kind: "daily", hour: hourSet[0]! };
  if (minGap(hourSet) < MIN_HOURS) {
    issue(
      `"${field}" must be at most every 4 hours: its hours ${hourSet.join(",")} are closer than that; ` +
        'space them 4 or more hours apart, e.g. "cron(0 0/6 * * ? *)"',
    );
    return undefined;
  }
  return { kind: "hourly", hours: hourSet };
}

/** Every comma-separated item of a cron field matches `item`, its numbers within [min, max]. */
function fieldMatches(value: string, item: RegExp, min: number, max: number): boolean {
  return value.split(",").every((part) => {
    if (!item.test(part)) return false;
    const [range, step] = part.split("/");
    if (step !== undefined && Number(step) < 1) return false;
    return (range!.match(/\d+/g) ?? [])
      .filter((_, i) => !(part.includes("#") && i === 1))
      .every((n) => Number(n) >= min && Number(n) <= max);
  });
}

function replaceNames(value: string, names: string[], first: number): string {
  return value.toUpperCase().replace(/[A-Z]{3}/g, (name) => {
    const index = names.indexOf(name);
    return index === -1 ? name : String(index + first);
  });
}

/** The hours (0-23) an hours field names, sorted; undefined when it is not a valid hours field. */
function expandHours(field: string): number[] | undefined {
  const hours = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (match === null) return undefined;
    const start = match[1] === "*" ? 0 : Number(match[1]);
    const end =
      match[2] !== undefined ? Number(match[2]) : match[1] === "*" || match[3] !== undefined ? 23 : start;
    const step = match[3] === undefined ? 1 : Number(match[3]);
    if (start > 23 || end > 23 || end < start || step < 1) return undefined;
    // Increments reset each day: 4/12 is 4:00 and 16:00, then 4:00 again.
    for (let hour = start; hour <= end; hour += step) hours.add(hour);
  }
  return [...hours].sort((a, b) => a - b);
}

/** The shortest time between two windows opening, the wrap to the next day included. */
function minGap(hours: number[]): number {
  let gap = hours[0]! + 24 - hours[hours.length - 1]!;
  for (let i = 1; i < hours.length; i++) gap = Math.min(gap, hours[i]! - hours[i - 1]!);
  return gap;
}

function windowIssue(duration: string, schedule: Schedule | undefined, fields: RotationRuleFields) {
  const match = durationPattern.exec(duration);
  const hours = match === null ? Number.NaN : Number(match[1]);
  if (!(hours >= 1 && hours <= 24) || match![1]!.startsWith("0")) {
    return `"${fields.window}" must be whole hours from 1h to 24h, e.g. "3h" (the rotation window, RotationRules.Duration)`;
  }
  if (schedule === undefined) return undefined;
  if (schedule.kind === "hours" && hours > schedule.hours) {
    return (
      `"${fields.window}" (${duration}) must fit within the interval of "${fields.schedule}" ` +
      `(${schedule.hours}h): a window must close before the next one opens`
    );
  }
  if (schedule.kind === "hourly") {
    const gap = minGap(schedule.hours);
    const last = schedule.hours[schedule.hours.length - 1]!;
    if (hours > gap) {
      return (
        `"${fields.window}" (${duration}) must fit within the interval of "${fields.schedule}" (${gap}h ` +
        "between its hours): a window must close before the next one opens"
      );
    }
    if (last + hours > 24) {
      return `"${fields.window}" (${duration}) must close by the end of the UTC day: the window opening at ${last}:00 runs past midnight; use ${24 - last}h or less`;
    }
  }
  if (schedule.kind === "daily" && schedule.hour + hours > 24) {
    return `"${fields.window}" (${duration}) must close by the end of the UTC day: the window opens at ${schedule.hour}:00; use ${24 - schedule.hour}h or less`;
  }
  return undefined;
}

/**
 * The rules for a rotation interval (`rotation.every`, in ms): whole days as
 * `AutomaticallyAfterDays`, whole hours as `rate(N hours)`; undefined for an interval of neither.
 */
export function rulesForInterval(everyMs: number, duration?: string): RotationRules | undefined {
  const window = duration === undefined ? {} : { duration };
  if (everyMs > 0 && everyMs % DAY_MS === 0) return { automaticallyAfterDays: everyMs / DAY_MS, ...window };
  if (everyMs > 0 && everyMs % HOUR_MS === 0)
    return { scheduleExpression: `rate(${everyMs / HOUR_MS} hours)`, ...window };
  return undefined;
}

/** The rules for a schedule given as a number of days or an expression (`rate(...)`/`cron(...)`). */
export function rulesForSchedule(schedule: number | string, duration?: string): RotationRules {
  const window = duration === undefined ? {} : { duration };
  return typeof schedule === "number"
    ? { automaticallyAfterDays: schedule, ...window }
    : { scheduleExpression: schedule, ...window };
}

/**
 * The time between rotations, when the rules fix it (days, rate()); undefined for cron().
 */
export function rulesIntervalMs(rules: RotationRules): number | undefined {
  if (rules.automaticallyAfterDays !== undefined) return rules.automaticallyAfterDays * DAY_MS;
  const match = ratePattern.exec(rules.scheduleExpression ?? "");
  if (match === null) return undefined;
  return Number(match[1]) * (match[2]!.startsWith("hour") ? HOUR_MS : DAY_MS);
}

/**
 * Whether the rules Secrets Manager reports (DescribeSecret) are the ones asked for. AWS reports
 * `AutomaticallyAfterDays` computed from a schedule expression, so a schedule asked as days also
 * matches `rate(N days)`, and the days AWS adds beside an expression are not compared.
 */
export function sameRotationRules(wanted: RotationRules, reported: RotationRules): boolean {
  if ((wanted.duration ?? undefined) !== (reported.duration ?? undefined)) return false;
  if (wanted.scheduleExpression !== undefined)
    return wanted.scheduleExpression === reported.scheduleExpression;
  const days = wanted.automaticallyAfterDays;
  if (reported.scheduleExpression !== undefined) {
    return rulesIntervalMs({ scheduleExpression: reported.scheduleExpression }) === (days ?? 0) * DAY_MS;
  }
  return reported.automaticallyAfterDays === days;
}
