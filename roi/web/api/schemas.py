"""The API's request and response shapes; the same schemas validate requests and make the
OpenAPI document, so the two cannot drift apart."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

NAME = validate.Length(min=1, max=100)


class ApiErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "stable code"})
    message = fields.String(required=True, metadata={"description": "for a person to read"})
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.String(), required=False
    )


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class ClientInSchema(Schema):
    given_name = fields.String(required=True, validate=NAME)
    family_name = fields.String(required=True, validate=NAME)
    birth_date = fields.Date(required=True)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


class ClientSchema(Schema):
    id = fields.Integer(required=True)
    given_name = fields.String(required=True)
    family_name = fields.String(required=True)
    birth_date = fields.Date(required=True)
    email = fields.String(allow_none=True)
    organization = fields.Function(lambda client: client.organization.name, dump_only=True)


class ProviderInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    credentials = fields.String(load_default="", validate=validate.Length(max=100))
    organization = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default="", validate=validate.Length(max=500))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


class ProviderSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    credentials = fields.String(required=True)
    organization = fields.String(attribute="organization_name", required=True)
    address = fields.String(required=True)
    email = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)


class SearchArgsSchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=100))
