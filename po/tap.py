"""TAP output for the po/ checks (meson test protocol 'tap')."""


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, details=()):
        self.n += 1
        self.failed += 0 if ok else 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}")
        for line in details:
            print(f'# {line}')

    def skip(self, name, why):
        self.n += 1
        print(f'ok {self.n} - {name} # SKIP {why}')

    def finish(self):
        print(f'1..{self.n}')
        return 1 if self.failed else 0
