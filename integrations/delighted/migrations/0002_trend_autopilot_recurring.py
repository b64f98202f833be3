"""Saved trends, the recurring autopilot schedule of memberships, and IdempotencyRecord leaving for accounts.

Existing members already had their first survey scheduled (dedupe key ``autopilot:<id>:0``): they
start at ``sends_scheduled = 1`` with the next look one frequency after they joined.
"""
from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def start_schedules(apps, schema_editor) -> None:
    # cross-account by nature: historical models have plain managers, no tenant scope
    Membership = apps.get_model("delighted", "AutopilotMembership")  # noqa: N806
    Autopilot = apps.get_model("surveys", "Autopilot")  # noqa: N806
    every = dict(Autopilot.objects.values_list("survey_id", "every_days"))
    for member in Membership.objects.all().iterator():
        days = every.get(member.survey_id, 90)
        Membership.objects.filter(pk=member.pk).update(
            sends_scheduled=1, next_send_at=member.created_at + timedelta(days=days))


class Migration(migrations.Migration):

    dependencies = [
        ("delighted", "0001_initial"),
        ("accounts", "0004_move_idempotencyrecord"),
        ("surveys", "0002_autopilot_personimport_and_more"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the table was renamed by accounts.0003: only the state forgets the model here
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
        ),
        migrations.AddField(
            model_name="autopilotmembership", name="sends_scheduled",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="autopilotmembership", name="next_send_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="autopilotmembership",
            index=models.Index(fields=["next_send_at"], name="autopilot_member_due"),
        ),
        migrations.RunPython(start_schedules, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Trend",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("filters", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="trends",
                                              to="accounts.account")),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [models.Index(fields=["account", "created_at", "id"], name="delighted_t_account_417053_idx")],
            },
        ),
    ]
