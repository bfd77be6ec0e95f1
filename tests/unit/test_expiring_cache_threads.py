"""kyc_match.caching.ExpiringCache shared by threads: `kyc-match serve` answers each request on its
own thread (ThreadingHTTPServer) with one composition root, so its route cache (RecentRoutes) is read
and filled from several threads at once. A Lambda container serves one request at a time.

The interleaving is forced, not hoped for: the cache's clock, called inside `get` between finding a
key and marking it recently used, lets another thread fill the cache past its bound. Unlocked, that
thread evicts the key under `get` (KeyError, a 500 for the request); locked, it waits until `get`
is done.
"""

import threading

from kyc_match.caching import ExpiringCache

WAIT_SECONDS = 0.5  # how long the clock lets the other thread run; it only finishes early if unlocked


def test_a_put_from_another_thread_waits_for_a_get_in_progress():
    other: list[threading.Thread] = []
    in_get = threading.Event()

    def clock() -> float:
        if in_get.is_set() and not other:
            filler = threading.Thread(target=lambda: [cache.put(key, key) for key in ("b", "c")])
            other.append(filler)
            filler.start()
            filler.join(WAIT_SECONDS)  # locked: still waiting for the lock when this returns
        return 0.0

    cache: ExpiringCache[str, str] = ExpiringCache(seconds=60, entries=2, clock=clock)
    cache.put("a", "a")
    in_get.set()
    assert cache.get("a") == "a"  # unlocked: KeyError, "a" evicted between the lookup and the move
    other[0].join(5)
    assert not other[0].is_alive()
    assert len(cache) == 2  # the bound held: the filler's puts were made after the get
