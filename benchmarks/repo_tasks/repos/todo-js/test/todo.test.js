import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TodoList } from '../src/todo.js';

test('add and list', () => {
  const list = new TodoList();
  list.add(' milk ');
  assert.deepEqual(list.list(), ['1. [ ] milk']);
});

test('complete', () => {
  const list = new TodoList();
  list.add('milk');
  list.complete(1);
  assert.deepEqual(list.list(), ['1. [x] milk']);
});
