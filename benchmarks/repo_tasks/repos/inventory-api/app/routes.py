"""Routing: (method, path) -> handler."""

from app import handlers

ROUTES = {
    ("POST", "/items"): handlers.create_item,
    ("GET", "/items"): handlers.list_items,
    ("GET", "/items/{id}"): handlers.get_item,
}


def handle(method, path, request=None):
    request = dict(request or {})
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "items" and parts[1].isdigit():
        request["id"] = int(parts[1])
        path = "/items/{id}"
    handler = ROUTES.get((method, path))
    if handler is None:
        return 404, {"error": "no route"}
    return handler(request)
