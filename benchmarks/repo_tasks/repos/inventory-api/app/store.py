"""An in-memory item store."""


class Store:
    def __init__(self):
        self.items = {}
        self.next_id = 1

    def add(self, name, quantity):
        item = {"id": self.next_id, "name": name, "quantity": quantity}
        self.items[self.next_id] = item
        self.next_id += 1
        return item

    def get(self, item_id):
        return self.items.get(item_id)

    def all(self):
        return [self.items[k] for k in sorted(self.items)]
