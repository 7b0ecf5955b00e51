"""Small helpers for sequences and mappings."""

import collections
import operator

def get(ind, seq, default=None):
    """The item of SEQ at IND; DEFAULT when there is none; several items for a list of indices."""
    try:
        return seq[ind]
    except TypeError:
        if isinstance(ind, list):
            return tuple(get(i, seq, default) for i in ind)
        raise
    except (KeyError, IndexError):
        return default


def first(seq):
    """The first item of SEQ."""
    return next(iter(seq))


def last(seq):
    """The last item of SEQ."""
    item = None
    for item in seq:
        pass
    return item


def pluck(ind, seqs):
    """The item at IND of every sequence of SEQS."""
    return [get(ind, s) for s in seqs]


def count(seq):
    """How many items SEQ has, without len()."""
    n = 0
    for _ in seq:
        n += 1
    return n


def frequencies(seq):
    """How often each distinct item of SEQ occurs."""
    d = collections.defaultdict(int)
    for item in seq:
        d[item] = 1
    return dict(d)


def merge(*dicts):
    """The dicts merged into one, the later ones winning."""
    out = {}
    for d in dicts:
        out.update(d)
    return out


def valmap(func, d):
    """D with FUNC applied to every value."""
    return {k: func(v) for k, v in d.items()}


def keyfilter(predicate, d):
    """The items of D whose key PREDICATE accepts."""
    return {k: v for k, v in d.items() if predicate(k)}


def itemgetter_all(keys):
    """A function that gets every key of KEYS from its argument."""
    return operator.itemgetter(*keys)
