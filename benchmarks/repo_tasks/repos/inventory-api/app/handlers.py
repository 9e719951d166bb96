"""Request handlers: each takes a request dict and returns (status, body)."""

from app.store import Store

store = Store()


def create_item(request):
    payload = request.get("json") or {}
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        return 422, {"error": "name is required"}
    item = store.add(name.strip(), payload.get("quantity", 0))
    return 201, item


def get_item(request):
    item = store.get(request["id"])
    if item is None:
        return 404, {"error": "not found"}
    return 200, item


def list_items(request):
    page = int(request.get("page", 1))
    size = int(request.get("size", 10))
    items = store.all()
    start = page * size
    return 200, {"items": items[start:start + size], "total": len(items)}
