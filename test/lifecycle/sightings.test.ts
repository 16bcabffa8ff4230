import { describe, expect, test } from "vitest";
import {
  ABANDONED_REFRESH_MS,
  createMarkSightings,
  isWriteBack,
  settleMs,
  WRITE_BACK_HOLDER,
} from "../../src/lifecycle/sightings";

describe("createMarkSightings", () => {
  test("a mark stands from its first sighting by this clock, whatever time the mark itself carries", () => {
    let t = 0;
    const marks = createMarkSightings(() => t);
    // Written by a machine whose clock is an hour ahead, or a day behind: its time says nothing here.
    const ahead = { holder: "b", since_ms: Date.now() + 3_600_000 };
    expect(marks.standing("k", ahead)).toBe(0);
    t = 1_500;
    expect(marks.standing("k", ahead)).toBe(1_500);
    t = ABANDONED_REFRESH_MS;
    expect(marks.standing("k", ahead)).toBe(ABANDONED_REFRESH_MS);
  });

  test("a new mark on the key (another holder, or another start) is a new sighting", () => {
    let t = 0;
    const marks = createMarkSightings(() => t);
    marks.standing("k", { holder: "b", since_ms: 1 });
    t = 10_000;
    expect(marks.standing("k", { holder: "c", since_ms: 1 })).toBe(0);
    t = 20_000;
    expect(marks.standing("k", { holder: "c", since_ms: 2 })).toBe(0);
  });

  test("forget and sweep drop sightings; the map is bounded", () => {
    let t = 0;
    const marks = createMarkSightings(() => t);
    marks.standing("k", { holder: "b", since_ms: 1 });
    t = 100;
    marks.forget("k");
    expect(marks.standing("k", { holder: "b", since_ms: 1 })).toBe(0);
    t = 100 + ABANDONED_REFRESH_MS + 1;
    marks.sweep();
    expect(marks.standing("k", { holder: "b", since_ms: 1 })).toBe(0);
    for (let i = 0; i < 20_000; i++) marks.standing(`key-${i}`, { holder: "b", since_ms: i });
    // The oldest were dropped: key-0 is a first sighting again.
    t += 5;
    expect(marks.standing("key-0", { holder: "b", since_ms: 0 })).toBe(0);
    expect(marks.standing("key-19999", { holder: "b", since_ms: 19_999 })).toBe(5);
  });

  test("the holder ID is random, stable for one manager, different between managers", () => {
    const a = createMarkSightings();
    const b = createMarkSightings();
    expect(a.holder()).toMatch(/^[0-9a-f]{32}$/);
    expect(a.holder()).toBe(a.holder());
    expect(a.holder()).not.toBe(b.holder());
  });
});

describe("write-back marks", () => {
  test("a write-back mark is told by its holder; it settles after the request time-out and a second, at most 5 minutes", () => {
    expect(isWriteBack({ holder: `${WRITE_BACK_HOLDER}abc`, since_ms: 1 })).toBe(true);
    expect(isWriteBack({ holder: "abc", since_ms: 1 })).toBe(false);
    expect(isWriteBack(undefined)).toBe(false);
    expect(settleMs(30_000)).toBe(31_000);
    expect(settleMs(2_500)).toBe(3_500);
    // A request with no time limit (or one above a timer's range) still lets the refresh go in the end.
    expect(settleMs(Number.POSITIVE_INFINITY)).toBe(ABANDONED_REFRESH_MS);
    expect(settleMs(2 ** 31)).toBe(ABANDONED_REFRESH_MS);
  });
});
