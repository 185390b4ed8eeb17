"""Portal page "Finance": the finance summary (payments.services.finance_summary) as a table and a chart per
currency, with period, grouping and currency filters and a CSV download of the same rows."""
from datetime import timedelta

from flask import Response, flash, render_template, request

from admin_portal import bp
from admin_portal.charts import chart_svg
from admin_portal.periods import day_period
from app.common.errors import Invalid
from app.common.money import CURRENCY_EXPONENTS, format_money
from app.payments import services as payments

GROUPS = ("day", "week", "month")
DEFAULT_GROUP = "week"
DEFAULT_DAYS = 90
COLUMNS = (  # (figure, heading) in table order
    ("gmv_minor", "GMV"), ("revenue_minor", "Revenue"), ("refunds_minor", "Refunds"),
    ("tutor_earnings_minor", "Tutor earnings"), ("deposits_minor", "Deposits"),
    ("deposit_refunds_minor", "Deposit refunds"), ("payouts_minor", "Payouts"),
    ("payout_returns_minor", "Payout returns"), ("escrow_held_minor", "Escrow held"),
)
CHART_BARS = (("gmv_minor", "GMV"), ("revenue_minor", "Revenue"), ("refunds_minor", "Refunds"),
              ("deposits_minor", "Deposits"), ("payouts_minor", "Payouts"))
CHART_LINE = ("escrow_held_minor", "Escrow held")


def _filters(args):
    """Dates (whole UTC days, ``to`` inclusive), group and currency from the query string; anything unreadable
    falls back to the default with a message."""
    since, until = day_period(args, DEFAULT_DAYS)
    group = args.get("group") if args.get("group") in GROUPS else DEFAULT_GROUP
    currency = args.get("currency") if args.get("currency") in CURRENCY_EXPONENTS else None
    return {"since": since, "until": until, "group": group, "currency": currency}


def _report(args):
    filters = _filters(args)
    try:
        return payments.finance_summary(**filters), filters
    except Invalid as error:
        flash(f"{error.message} Showing the default period.", "error")
        filters = _filters({"group": filters["group"], "currency": filters["currency"]})
        return payments.finance_summary(**filters), filters


def _label(instant, group):
    return instant.strftime({"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}[group])


def _charts(report):
    charts = []
    for currency, rows in report.periods.groupby("currency", sort=True):
        scale = 10 ** CURRENCY_EXPONENTS.get(currency, 2)
        labels = [_label(start, report.group) for start in rows["period_start"]]
        bars = {name: (rows[figure] / scale).tolist() for figure, name in CHART_BARS}
        line = {CHART_LINE[1]: (rows[CHART_LINE[0]] / scale).tolist()}
        title = f"{currency} per {report.group}"
        charts.append({"currency": currency, "svg": chart_svg(labels, bars=bars, lines=line, title=title,
                                                              ylabel=currency)})
    return charts


@bp.route("/finance")
def finance():
    report, filters = _report(request.args)
    rows = report.as_dict()
    return render_template(
        "admin_portal/finance.html", report=report, periods=rows["periods"], totals=rows["totals"],
        charts=_charts(report), columns=COLUMNS, groups=GROUPS,
        currencies=sorted(CURRENCY_EXPONENTS), money=format_money, group=filters["group"],
        currency=filters["currency"] or "", first=filters["since"].date().isoformat(),
        last=(filters["until"] - timedelta(days=1)).date().isoformat())


@bp.route("/finance.csv")
def finance_csv():
    report, _filters_used = _report(request.args)
    return Response(report.to_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{report.filename("finance-summary")}"'})
