"""The audit log's codes in words, as gettext msgids: what ``jixiao audit`` prints.

A code missing here (an action added later) is printed as it is stored, so the log
never hides an entry for want of a label.
"""

from __future__ import annotations

from domain.text import N_

ACTION_LABELS = {
    "access.denied": N_("Refused"),
    "account.bind": N_("Linked a Telegram account"),
    "account.unbind": N_("Unlinked a Telegram account"),
    "appeal.open": N_("Filed an appeal"),
    "appeal.ask": N_("Asked the appellant a question"),
    "appeal.answer": N_("Answered the question about an appeal"),
    "appeal.decide": N_("Decided an appeal"),
    "appeal.remind": N_("Reminded that an appeal awaits a decision"),
    "calendar.import": N_("Loaded the official holiday schedule"),
    "calendar.unofficial": N_("Warned that no official holiday schedule is loaded for the year"),
    "cycle.open": N_("Opened an evaluation cycle"),
    "cycle.collect": N_("Started collecting answers"),
    "cycle.extend": N_("Extended the deadline"),
    "cycle.close": N_("Stopped collecting answers"),
    "cycle.remind": N_("Reminded everyone behind with their forms"),
    "cycle.score": N_("Computed the results"),
    "cycle.review_request": N_("Sent the results for approval"),
    "cycle.review": N_("Decided on the results"),
    "cycle.publish": N_("Published the results"),
    "cycle.export": N_("Exported the results workbook"),
    "form.reopen": N_("Reopened a submitted form"),
    "form.reassign": N_("Gave a form to another rater"),
    "form.proxy_submit": N_("Submitted a form on a rater's behalf"),
    "invite.issue_all": N_("Issued invitation codes"),
    "invite.reissue": N_("Reissued an invitation code"),
    "report.sent": N_("Sent the draft evaluation report"),
    "report.written": N_("Wrote the draft evaluation report to a file"),
    "plan.open": N_("Required an improvement plan"),
    "plan.edit": N_("Edited an improvement plan"),
    "plan.submit": N_("Submitted an improvement plan"),
    "plan.approve": N_("Approved an improvement plan"),
    "plan.return": N_("Returned an improvement plan for changes"),
    "plan.progress": N_("Reported progress on an improvement plan"),
    "plan.milestone_done": N_("Completed a milestone"),
    "plan.done": N_("Completed an improvement plan"),
    "plan.remind_due": N_("Reminded of a milestone that is due"),
    "plan.remind_overdue": N_("Reminded of an overdue milestone"),
    "plan.no_author": N_("No one to write the unit's improvement plan (the unit has no head)"),
    "rectification.open": N_("Opened a rectification item"),
    "rectification.answer": N_("Answered a rectification item"),
    "rectification.review_request": N_("Asked for a rectification item to be reviewed"),
    "rectification.review_decide": N_("Decided a rectification review"),
    "rectification.rate": N_("The citizen rated the rectification"),
    "rectification.overdue": N_("Reminded of an overdue rectification item"),
    "result.adjust": N_("Adjusted a result"),
    "staff.import": N_("Imported the staff roster"),
    "survey_link.create": N_("Created survey links"),
    "survey_link.revoke": N_("Revoked a survey link"),
    "template.register": N_("Registered an indicator template"),
    "template.approve": N_("Approved an indicator template"),
}

# what a refused caller tried, when the refusal names a command rather than an action code
ATTEMPT_LABELS = {
    "admin": N_("Use the working group console"),
    "annual": N_("See the annual results"),
    "appeals": N_("See the appeals to decide"),
    "annual.csv": N_("Download the annual results"),
    "cycle": N_("Manage evaluation cycles"),
    "export": N_("Export the results workbook"),
    "invites": N_("Issue invitation codes"),
    "proxy": N_("Submit a form on a rater's behalf"),
    "reassign": N_("Give a form to another rater"),
    "reissue": N_("Reissue an invitation code"),
    "reopen": N_("Reopen a submitted form"),
    "report": N_("Get the evaluation report"),
    "reviews": N_("See the negative ratings to re-examine"),
    "score": N_("Compute the results"),
    "template.upload": N_("Upload an indicator template"),
    "unbind": N_("Unlink a Telegram account"),
}

OBJECT_LABELS = {
    "appeal": N_("Appeal"),
    "assignment": N_("Form"),
    "calendar": N_("Holiday schedule"),
    "console": N_("Working group console"),
    "cycle": N_("Evaluation cycle"),
    "improvement_plan": N_("Improvement plan"),
    "org_unit": N_("Unit"),
    "rectification": N_("Rectification item"),
    "result": N_("Result"),
    "roster": N_("Staff roster"),
    "staff": N_("Staff member"),
    "survey_link": N_("Survey link"),
    "template": N_("Indicator template"),
}

# who acted when no person did: the ``actor_label`` the code writes
ACTOR_LABELS = {
    "calendar": N_("holiday schedule check"),
    "cli": N_("command line"),
    "demo": N_("demo"),
    "publish": N_("publication"),
    "job": N_("scheduled task"),
    "telegram": N_("Telegram"),
    "citizen": N_("a citizen"),
    "survey": N_("citizen survey"),
}
