"""textstats FILE: print word statistics."""

import argparse
import sys

from textstats.core import frequencies, word_count


def main(argv=None):
    parser = argparse.ArgumentParser(prog="textstats")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    with open(args.file, encoding="utf-8") as handle:
        text = handle.read()
    print(f"words: {word_count(text)}")
    for word, count in sorted(frequencies(text).items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{word} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
