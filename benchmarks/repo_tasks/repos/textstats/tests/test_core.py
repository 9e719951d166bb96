from textstats.core import frequencies, word_count


def test_word_count():
    assert word_count("a b  c") == 3


def test_frequencies():
    assert frequencies("A a b") == {"a": 2, "b": 1}
