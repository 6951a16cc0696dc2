"""The provider's callbacks: `POST /webhooks/plivo/` (signature check, parsing, the view).

Storing and applying them is `calls.services.callbacks`.
"""
