import { describe, expect, it } from "vitest";
import {
  type RotationRules,
  rotationRulesIssues,
  rulesForInterval,
  rulesForSchedule,
  rulesIntervalMs,
  sameRotationRules,
} from "../../secrets/rotation-rules";

// One table for Secrets Manager's RotationRules as AWS documents them (RotationRulesType and the
// user guide's "Rotation schedules"): what is accepted, and for what is not, the field named and
// the rule quoted. ApiKey (rotation.schedule/window) and ProjectKeys (rotation.every) share it.

const fields = { schedule: "rotation.schedule", window: "rotation.window" };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("RotationRules accepted as AWS accepts them", () => {
  it.each<[string, RotationRules]>([
    ["days, lowest", { automaticallyAfterDays: 1 }],
    ["days, highest", { automaticallyAfterDays: 1000 }],
    ["days with a window to the end of the day", { automaticallyAfterDays: 30, duration: "24h" }],
    ["rate in days", { scheduleExpression: "rate(30 days)" }],
    ["rate of one day (singular)", { scheduleExpression: "rate(1 day)" }],
    ["rate of 999 days", { scheduleExpression: "rate(999 days)" }],
    ["rate of 4 hours, window 4h", { scheduleExpression: "rate(4 hours)", duration: "4h" }],
    ["rate of 12 hours, window 3h", { scheduleExpression: "rate(12 hours)", duration: "3h" }],
    ["cron once a month at 04:00", { scheduleExpression: "cron(0 4 1 * ? *)" }],
    ["cron with a window to midnight", { scheduleExpression: "cron(0 20 ? * MON-FRI *)", duration: "4h" }],
    ["cron every 6 hours", { scheduleExpression: "cron(0 0/6 * * ? *)", duration: "6h" }],
    ["cron 4/12: 04:00 and 16:00", { scheduleExpression: "cron(0 4/12 * * ? *)", duration: "8h" }],
    ["cron first Sunday", { scheduleExpression: "cron(0 0 ? * SUN#1 *)" }],
    ["cron last day of month", { scheduleExpression: "cron(0 16 L * ? *)" }],
    ["cron every 7 days from the 1st", { scheduleExpression: "cron(0 8 1/7 * ? *)" }],
    ["cron listed months", { scheduleExpression: "cron(0 2 1 JAN,APR,JUL,OCT ? *)" }],
  ])("%s", (_name, rules) => {
    expect(rotationRulesIssues(rules, fields)).toEqual([]);
  });
});

describe("RotationRules refused, naming the field and the fix", () => {
  it.each<[string, RotationRules, string, RegExp]>([
    [
      "both kinds of schedule",
      { automaticallyAfterDays: 30, scheduleExpression: "rate(30 days)" },
      "rotation.schedule",
      /not both/,
    ],
    ["no schedule", { duration: "2h" }, "rotation.schedule", /is required/],
    ["0 days", { automaticallyAfterDays: 0 }, "rotation.schedule", /from 1 to 1000/],
    ["1001 days", { automaticallyAfterDays: 1001 }, "rotation.schedule", /at most 1000 days/],
    ["fractional days", { automaticallyAfterDays: 1.5 }, "rotation.schedule", /whole number of days/],
    [
      "rate of 3 hours",
      { scheduleExpression: "rate(3 hours)" },
      "rotation.schedule",
      /at most every 4 hours/,
    ],
    [
      "rate in minutes",
      { scheduleExpression: "rate(300 minutes)" },
      "rotation.schedule",
      /rate\(N hours\) or rate\(N days\)/,
    ],
    ["rate of 0 days", { scheduleExpression: "rate(0 days)" }, "rotation.schedule", /positive whole number/],
    ["rate of 1000 days", { scheduleExpression: "rate(1000 days)" }, "rotation.schedule", /at most 999 days/],
    [
      "something else",
      { scheduleExpression: "every 30 days" },
      "rotation.schedule",
      /rate\(N hours\|days\), cron/,
    ],
    ["cron with 5 fields", { scheduleExpression: "cron(0 4 1 * ?)" }, "rotation.schedule", /six fields/],
    [
      "cron at 04:30",
      { scheduleExpression: "cron(30 4 1 * ? *)" },
      "rotation.schedule",
      /0 in the minutes field/,
    ],
    [
      "cron in a given year",
      { scheduleExpression: "cron(0 4 1 * ? 2027)" },
      "rotation.schedule",
      /\* in the year field/,
    ],
    [
      "cron with both day fields",
      { scheduleExpression: "cron(0 4 1 * MON *)" },
      "rotation.schedule",
      /\? in exactly one/,
    ],
    [
      "cron hourly",
      { scheduleExpression: "cron(0 * * * ? *)" },
      "rotation.schedule",
      /at most every 4 hours/,
    ],
    [
      "cron every 3 hours",
      { scheduleExpression: "cron(0 0/3 * * ? *)" },
      "rotation.schedule",
      /at most every 4 hours/,
    ],
    [
      "cron hours 22 and 0 (2 h apart over midnight)",
      { scheduleExpression: "cron(0 0,22 * * ? *)" },
      "rotation.schedule",
      /closer than that/,
    ],
    [
      "cron hour 24",
      { scheduleExpression: "cron(0 24 * * ? *)" },
      "rotation.schedule",
      /hours field outside 0-23/,
    ],
    ["cron month 13", { scheduleExpression: "cron(0 4 1 13 ? *)" }, "rotation.schedule", /month field/],
    ["cron day 32", { scheduleExpression: "cron(0 4 32 * ? *)" }, "rotation.schedule", /day-of-month field/],
    ["cron weekday 8", { scheduleExpression: "cron(0 4 ? * 8 *)" }, "rotation.schedule", /day-of-week field/],
    [
      "window in minutes",
      { automaticallyAfterDays: 30, duration: "90m" },
      "rotation.window",
      /whole hours from 1h to 24h/,
    ],
    [
      "window of 0h",
      { automaticallyAfterDays: 30, duration: "0h" },
      "rotation.window",
      /whole hours from 1h to 24h/,
    ],
    [
      "window of 25h",
      { automaticallyAfterDays: 30, duration: "25h" },
      "rotation.window",
      /whole hours from 1h to 24h/,
    ],
    [
      "window longer than a rate in hours",
      { scheduleExpression: "rate(6 hours)", duration: "7h" },
      "rotation.window",
      /must fit within/,
    ],
    [
      "window longer than the cron's gap",
      { scheduleExpression: "cron(0 0/6 * * ? *)", duration: "7h" },
      "rotation.window",
      /must fit within/,
    ],
    [
      "window past midnight",
      { scheduleExpression: "cron(0 22 * * ? *)", duration: "3h" },
      "rotation.window",
      /end of the UTC day.*2h or less/,
    ],
  ])("%s", (_name, rules, field, message) => {
    const issues = rotationRulesIssues(rules, fields);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.field).toBe(field);
    expect(issues[0]!.message.startsWith(`"${field}"`)).toBe(true);
    expect(issues[0]!.message).toMatch(message);
  });

  it("names the caller's own fields (ProjectKeys derives the schedule from rotation.every)", () => {
    const issues = rotationRulesIssues(
      { scheduleExpression: "rate(6 hours)", duration: "8h" },
      { schedule: "rotation.every", window: "rotation.native.window" },
    );
    expect(issues.map((i) => i.field)).toEqual(["rotation.native.window"]);
    expect(issues[0]!.message).toMatch(
      /^"rotation\.native\.window" \(8h\) must fit within the interval of "rotation\.every"/,
    );
  });
});

describe("building and comparing rules", () => {
  it("an interval becomes days or a rate in hours; anything finer has no rules", () => {
    expect(rulesForInterval(30 * DAY)).toEqual({ automaticallyAfterDays: 30 });
    expect(rulesForInterval(12 * HOUR, "2h")).toEqual({
      scheduleExpression: "rate(12 hours)",
      duration: "2h",
    });
    expect(rulesForInterval(90 * 60_000)).toBeUndefined();
  });

  it("a schedule is a number of days or an expression", () => {
    expect(rulesForSchedule(30)).toEqual({ automaticallyAfterDays: 30 });
    expect(rulesForSchedule("cron(0 4 1 * ? *)", "3h")).toEqual({
      scheduleExpression: "cron(0 4 1 * ? *)",
      duration: "3h",
    });
    expect(rulesIntervalMs({ scheduleExpression: "rate(12 hours)" })).toBe(12 * HOUR);
    expect(rulesIntervalMs({ automaticallyAfterDays: 7 })).toBe(7 * DAY);
    expect(rulesIntervalMs({ scheduleExpression: "cron(0 4 1 * ? *)" })).toBeUndefined();
  });

  it("rules read back match what was asked, AWS's computed days beside an expression included", () => {
    expect(
      sameRotationRules(
        { scheduleExpression: "rate(30 days)" },
        { scheduleExpression: "rate(30 days)", automaticallyAfterDays: 30 },
      ),
    ).toBe(true);
    expect(sameRotationRules({ automaticallyAfterDays: 30 }, { automaticallyAfterDays: 30 })).toBe(true);
    expect(sameRotationRules({ automaticallyAfterDays: 30 }, { scheduleExpression: "rate(30 days)" })).toBe(
      true,
    );
    expect(sameRotationRules({ automaticallyAfterDays: 30 }, { automaticallyAfterDays: 7 })).toBe(false);
    expect(
      sameRotationRules({ automaticallyAfterDays: 30, duration: "2h" }, { automaticallyAfterDays: 30 }),
    ).toBe(false);
    expect(
      sameRotationRules(
        { scheduleExpression: "cron(0 4 1 * ? *)" },
        { scheduleExpression: "cron(0 5 1 * ? *)" },
      ),
    ).toBe(false);
  });
});
