#!/usr/bin/python3
# cron-croniter.py SEED COUNT: random cron expressions and start times (seeded), with the
# next three fire times python3-croniter (an independent implementation) gives, one case a
# line: EXPR|ZONE|FROM|T1 T2 T3 (UTC, ISO 8601). t8010 compares them with `ntflow schedule`.
#
# Only where Vixie cron and croniter 1.3 agree:
# - the OR rule: Vixie applies it when neither day field starts with *, croniter when
#   neither allows every value. They differ on "*/2" next to a restricted field (Vixie: a
#   day must match both; croniter: either) and on "1-31", "0-6" or "SUN-7" next to one
#   (Vixie: either, so every day; croniter: both); those cases are skipped;
# - a day of month that no allowed month has (30 FEB): ntflow refuses the expression,
#   croniter searches for ever; days 29-31 are generated with every month allowed only;
# - zones: croniter 1.3 places times wrongly around DST changes (a skipped 02:30 at 03:30,
#   and after an autumn change an hour late), so a case in a zone is kept only when the
#   zone's UTC offset is the same all the way from its start to its last fire time; DST
#   itself is covered by check_cron's hand-checked cases.
import random
import sys
import datetime as dt
from zoneinfo import ZoneInfo

from croniter import croniter

UTC = dt.timezone.utc
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
ZONES = ["UTC", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]


def value(r, lo, hi, names):
    """A value from lo to hi, written as a number or, sometimes, a name."""
    v = r.randint(lo, hi)
    if names and r.random() < 0.4:
        return v, names[v - 1] if names is MONTHS else names[v % 7]
    return v, str(v)


def item(r, lo, hi, names):
    k = r.random()
    if k < 0.25:
        return "*/%d" % r.randint(1, max(1, hi - lo)) if r.random() < 0.5 else "*"
    a, sa = value(r, lo, hi, names)
    if k < 0.55:
        return sa
    # a range's end: 7 (Sunday) is only written as a number, SUN being 0
    b, sb = value(r, a, hi, names if hi != 7 else None)
    if names is DAYS and b <= 6 and r.random() < 0.4:
        sb = DAYS[b]
    if k < 0.8:
        return "%s-%s" % (sa, sb)
    return "%s-%s/%d" % (sa, sb, r.randint(1, max(1, hi - lo)))


def field(r, lo, hi, names=None):
    items = [item(r, lo, hi, names) for _ in range(r.choice([1, 1, 1, 2, 3]))]
    if len(items) > 1:
        items = [i for i in items if not i.startswith("*")] or ["*"]
    return ",".join(items)


def expression(r):
    """MIN HOUR DOM MONTH DOW."""
    minute = field(r, 0, 59)
    hour = field(r, 0, 23)
    month = field(r, 1, 12, MONTHS) if r.random() < 0.5 else "*"
    dom = field(r, 1, 28) if r.random() < 0.6 else "*"
    if month == "*" and r.random() < 0.2:
        dom = str(r.randint(29, 31))
    dow = field(r, 0, 7, DAYS) if r.random() < 0.5 else "*"
    return " ".join([minute, hour, dom, month, dow])


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def steady(zone, a, b):
    """True when zone's UTC offset does not change between instants a and b."""
    off = a.astimezone(zone).utcoffset()
    t = a
    while t < b:
        t = min(t + dt.timedelta(hours=12), b)
        if t.astimezone(zone).utcoffset() != off:
            return False
    return True


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    made = 0
    while made < count:
        expr = expression(r)
        name = r.choice(ZONES)
        zone = UTC if name == "UTC" else ZoneInfo(name)
        start = dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=r.randint(0, 40 * 365 * 86400))
        it = croniter(expr, start.astimezone(zone))
        dom, dow = expr.split()[2], expr.split()[4]
        vixie_or = not dom.startswith("*") and not dow.startswith("*")
        croniter_or = it.expanded[2] != ["*"] and it.expanded[4] != ["*"]
        if vixie_or != croniter_or:
            continue
        fires = [it.get_next(dt.datetime) for _ in range(3)]
        if name != "UTC" and not steady(zone, start, fires[-1]):
            continue
        print("%s|%s|%s|%s" % (expr, name, iso(start), " ".join(iso(f) for f in fires)))
        made += 1


main()
