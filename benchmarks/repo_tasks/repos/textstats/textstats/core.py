"""Text statistics."""


def words(text):
    return text.split()


def word_count(text):
    return len(words(text))


def frequencies(text):
    counts = {}
    for word in words(text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts


def paginate(lines, page, per_page):
    """Lines of 1-based ``page``."""
    start = (page - 1) * per_page
    return lines[start:start + per_page - 1]
