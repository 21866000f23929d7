"""An outside disclosure says whether it carried substance-use-disorder records (42 CFR Part 2),
so the Part 2 accounting lists those made under a Part 2 consent by fax, mail or phone.

Revision ID: 0019_outside_part2
Revises: 0018_link_request_retries
Create Date: 2026-12-01 03:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_outside_part2'
down_revision = '0018_link_request_retries'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outside_disclosures', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'substance_use_records', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table('outside_disclosures', schema=None) as batch_op:
        batch_op.drop_column('substance_use_records')
