"""Move IdempotencyRecord from the delighted app to accounts (the REST base lives here).

The table is renamed, never recreated, so stored records (and the keys clients may still retry)
survive. The state half pairs with delighted.0002_trend_autopilot_recurring, which forgets the model.
"""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# Portable SQL (PostgreSQL and the SQLite dev default): rename the table, re-create the one index
# under a stable explicit name (the unique constraint keeps its name).
FORWARD = [
    "ALTER TABLE delighted_idempotencyrecord RENAME TO accounts_idempotencyrecord",
    "DROP INDEX delighted_i_account_060ce3_idx",
    "CREATE INDEX idempotency_account_created ON accounts_idempotencyrecord (account_id, created_at)",
]
BACKWARD = [
    "DROP INDEX idempotency_account_created",
    "ALTER TABLE accounts_idempotencyrecord RENAME TO delighted_idempotencyrecord",
    "CREATE INDEX delighted_i_account_060ce3_idx ON delighted_idempotencyrecord (account_id, created_at)",
]


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_account_complaint_pause"),
        ("delighted", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("key", models.CharField(max_length=255)),
                        ("method", models.CharField(max_length=8)),
                        ("path", models.CharField(max_length=255)),
                        ("request_hash", models.CharField(max_length=64)),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("body", models.JSONField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      related_name="idempotency_records", to="accounts.account")),
                    ],
                    options={
                        "indexes": [models.Index(fields=["account", "created_at"],
                                                 name="idempotency_account_created")],
                        "constraints": [models.UniqueConstraint(fields=("account", "key"),
                                                                name="idempotency_key_unique")],
                    },
                ),
            ],
        ),
    ]
