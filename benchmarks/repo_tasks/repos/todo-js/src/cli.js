// todo CLI: node src/cli.js add "title" | list
import { TodoList } from './todo.js';

export function run(args, list = new TodoList()) {
  const [command, ...rest] = args;
  if (command === 'add') {
    list.add(rest.join(' '));
    return list.list();
  }
  if (command === 'list') {
    return list.list();
  }
  throw new Error(`unknown command: ${command}`);
}
