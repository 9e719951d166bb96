// A to-do list kept in memory.
export class TodoList {
  constructor() {
    this.items = [];
  }

  add(title) {
    const item = { title: title.trim(), done: false };
    this.items.push(item);
    return item;
  }

  // Remove the item at 1-based position `index`.
  remove(index) {
    return this.items.splice(index, 1)[0];
  }

  complete(index) {
    this.items[index - 1].done = true;
  }

  list() {
    return this.items.map((item, i) => `${i + 1}. [${item.done ? 'x' : ' '}] ${item.title}`);
  }
}
