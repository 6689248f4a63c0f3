#!/usr/bin/python3
"""lazyfs: a FUSE filesystem that loses, on a simulated power cut, everything not made durable.

Usage: /usr/bin/python3 lazyfs.py BACKING MOUNTPOINT   (Debian's python3-pyfuse3 and fuse3)

BACKING always holds exactly what is durable, as ordinary files and folders: after a cut it is
the disk as the machine finds it when the power comes back. What was written but not yet made
durable lives only in this process's memory; a cut ends the process, and it is gone. The next
mount starts from BACKING alone (a new mount also means a new kernel page cache, so nothing
cached before the cut can be read after it).

What becomes durable when
- File contents and size. A write or truncate is visible at once through the mount. It reaches
  BACKING when the file is synced: fsync or fdatasync on any handle of the file (msync of a
  shared mapping sends an fsync too). Until then it is kept as dirty 4 KiB blocks in memory.
- Names. Creating, unlinking, renaming or hard-linking a file changes the listing at once. It
  reaches BACKING when the directory is synced (fsync of the directory makes its whole listing
  durable; a rename between two directories becomes durable in each one when that one is
  synced). A new file whose directory was not synced is gone after a cut, even if the file
  itself was synced; an unlinked file comes back with its durable contents. Each file's data
  lives in a hidden anchor `BACKING/.lazyfs/INO` (a hard link), and a durable name is one more
  hard link to it.

Not modelled
- Directories themselves: mkdir and rmdir are durable at once; renaming a directory is refused
  (EXDEV). Modes and owners are durable at once; times are kept in memory only; symlinks,
  device files and extended attributes are not supported.
- Torn writes inside a 4 KiB block, and a disk that ignores flushes.
- Reordering, only in part: a cut can keep a random share of the unsynced blocks (the kernel's
  background writeback before the power went), written at their place; a pending shrink is
  then dropped.

Control: one command a line on standard input, one answer line on standard output.
  stats                   -> "stats ops=OP:N,... unsynced=FILE:BLOCKS,... pending_names=N"
  arm before|after SUFFIX -> "armed"; when a file whose name ends in SUFFIX is next fsynced,
                             the filesystem freezes just before (or just after) making it
                             durable, that fsync never returns, and a line
                             "frozen by=fsync-before|fsync-after file=NAME" is printed
  freeze                  -> "frozen by=command": from now on no operation completes
                             (each one waits forever), so nothing can become durable
  cut KEEP SEED           -> freezes, writes a random share KEEP (0 to 1) of the unsynced
                             blocks, prints "cut blocked=OP@FILE,... unsynced=FILE:DROPPED:KEPT,...
                             pending_names=N" and exits at once (the kernel then fails every
                             waiting operation; the mount is dead until unmounted)
End of standard input: the filesystem unmounts itself (lazily) and exits, as after a cut.

The cut is atomic with respect to the processes using the mount: operations run one at a time
in this single thread, each to completion, so a freeze lands between two operations (or inside
an armed fsync, where it is meant to be), and nothing completes after it.
"""

import errno
import os
import random
import shutil
import stat
import subprocess
import sys
import time

import pyfuse3
import trio

BLOCK = 4096
ZEROS = bytes(BLOCK)
HIDDEN = b".lazyfs"
ROOT = pyfuse3.ROOT_INODE
TIMEOUT = 60.0  # attribute and entry cache: only the kernel changes this filesystem


class File:
    """A regular file: durable data in the anchor `fd`, current data = that + `dirty`."""

    def __init__(self, ino, fd):
        self.ino = ino
        self.fd = fd
        st = os.fstat(fd)
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        # (parent inode, name) of every name the file has now.
        self.names = set()
        # Block index -> its current contents (BLOCK bytes), for blocks changed since the last
        # sync.
        self.dirty = {}
        # After a shrink not yet synced: blocks from this index on read as zeros unless dirty
        # (the durable file still holds the old bytes there).
        self.zero_from = None

    def label(self):
        if self.names:
            return min(n for _, n in self.names).decode(errors="replace")
        return f"ino-{self.ino}"


class Dir:
    """A directory: `entries` is its listing now, `durable` the one in BACKING."""

    def __init__(self, ino, path):
        self.ino = ino
        self.path = path
        self.entries = {}
        self.durable = {}


def handler(name):
    """Wraps an operation: counts it, blocks it forever once frozen, maps OSError to errno."""

    def wrap(fn):
        async def run(self, *args):
            self.ops[name] = self.ops.get(name, 0) + 1
            if self.frozen:
                await self.hold(name, args[0] if args else None)
            try:
                return await fn(self, *args)
            except OSError as e:
                raise pyfuse3.FUSEError(e.errno or errno.EIO) from None

        run.__name__ = fn.__name__
        return run

    return wrap


class LazyFs(pyfuse3.Operations):
    def __init__(self, backing, mountpoint):
        super().__init__()
        self.backing = backing
        self.mountpoint = mountpoint
        self.nodes = {}
        self.next_ino = ROOT + 1
        self.ops = {}
        self.frozen = False
        self.armed = None  # (b"before" | b"after", suffix)
        self.blocked = []  # "OP@FILE" of every operation waiting on the freeze
        self.load()

    # -- the durable image ------------------------------------------------------------------

    def anchor(self, ino):
        return os.path.join(self.backing, HIDDEN, str(ino).encode())

    def load(self):
        """Builds the tree from BACKING: everything there is durable."""
        hidden = os.path.join(self.backing, HIDDEN)
        shutil.rmtree(hidden, ignore_errors=True)
        os.mkdir(hidden, 0o700)
        by_backing_ino = {}
        root = Dir(ROOT, self.backing)
        self.nodes[ROOT] = root
        todo = [root]
        while todo:
            d = todo.pop()
            for entry in os.scandir(d.path):
                name = entry.name
                if d.ino == ROOT and name == HIDDEN:
                    continue
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    child = Dir(self.new_ino(), entry.path)
                    self.nodes[child.ino] = child
                    todo.append(child)
                elif stat.S_ISREG(st.st_mode):
                    ino = by_backing_ino.get(st.st_ino)
                    if ino is None:
                        ino = self.new_ino()
                        os.link(entry.path, self.anchor(ino))
                        fd = os.open(self.anchor(ino), os.O_RDWR | os.O_CLOEXEC)
                        self.nodes[ino] = File(ino, fd)
                        by_backing_ino[st.st_ino] = ino
                    child = self.nodes[ino]
                    child.names.add((d.ino, name))
                else:
                    continue  # not modelled: left alone, not shown
                d.entries[name] = d.durable[name] = child.ino

    def new_ino(self):
        ino = self.next_ino
        self.next_ino += 1
        return ino

    def new_file(self, mode, ctx):
        ino = self.new_ino()
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        fd = os.open(self.anchor(ino), flags, stat.S_IMODE(mode))
        try:
            os.fchown(fd, ctx.uid, ctx.gid)
        except PermissionError:
            pass  # not root: the file stays ours
        f = File(ino, fd)
        self.nodes[ino] = f
        return f

    # -- file contents ------------------------------------------------------------------------

    def block(self, f, b):
        """The current contents of block `b` (read-only)."""
        d = f.dirty.get(b)
        if d is not None:
            return d
        if f.zero_from is not None and b >= f.zero_from:
            return ZEROS
        data = os.pread(f.fd, BLOCK, b * BLOCK)
        return data + ZEROS[len(data):]

    def read_range(self, f, off, size):
        end = min(off + size, f.size)
        if off >= end:
            return b""
        out = bytearray()
        b = off // BLOCK
        while b * BLOCK < end:
            blk = self.block(f, b)
            lo = max(off - b * BLOCK, 0)
            hi = min(end - b * BLOCK, BLOCK)
            out += blk[lo:hi]
            b += 1
        return bytes(out)

    def write_range(self, f, off, buf):
        pos = 0
        while pos < len(buf):
            b, inside = divmod(off + pos, BLOCK)
            n = min(BLOCK - inside, len(buf) - pos)
            blk = f.dirty.get(b)
            if blk is None:
                blk = f.dirty[b] = bytearray(self.block(f, b))
            blk[inside:inside + n] = buf[pos:pos + n]
            pos += n
        f.size = max(f.size, off + len(buf))
        f.mtime_ns = time.time_ns()

    def truncate(self, f, size):
        if size < f.size:
            first_gone = -(-size // BLOCK)  # first block wholly at or past the new end
            for b in [b for b in f.dirty if b >= first_gone]:
                del f.dirty[b]
            if size % BLOCK:
                b = size // BLOCK
                blk = f.dirty.get(b)
                if blk is None:
                    blk = f.dirty[b] = bytearray(self.block(f, b))
                blk[size % BLOCK:] = ZEROS[size % BLOCK:]
            if f.zero_from is None or first_gone < f.zero_from:
                f.zero_from = first_gone
        f.size = size
        f.mtime_ns = time.time_ns()

    def sync_file(self, f):
        """fsync: the file's current contents and size become its durable image."""
        if f.zero_from is not None:
            durable = os.fstat(f.fd).st_size
            os.ftruncate(f.fd, min(durable, f.zero_from * BLOCK))
        for b in sorted(f.dirty):
            n = min(BLOCK, f.size - b * BLOCK)
            if n > 0:
                os.pwrite(f.fd, f.dirty[b][:n], b * BLOCK)
        os.ftruncate(f.fd, f.size)
        f.dirty.clear()
        f.zero_from = None

    def sync_dir(self, d):
        """fsync of a directory: its current listing of files becomes the durable one."""
        for name, ino in list(d.durable.items()):
            if isinstance(self.nodes[ino], File) and d.entries.get(name) != ino:
                os.unlink(os.path.join(d.path, name))
                del d.durable[name]
        for name, ino in d.entries.items():
            if isinstance(self.nodes[ino], File) and d.durable.get(name) != ino:
                os.link(self.anchor(ino), os.path.join(d.path, name))
                d.durable[name] = ino

    # -- freezing and cutting -----------------------------------------------------------------

    async def hold(self, op, first_arg):
        """Never completes: the operation waits for the cut."""
        node = self.nodes.get(first_arg) if isinstance(first_arg, int) else None
        what = node.label() if isinstance(node, File) else "-"
        self.blocked.append(f"{op}@{what}")
        await trio.sleep_forever()

    def freeze(self, by, extra=""):
        self.frozen = True
        self.armed = None
        print(f"frozen by={by}{extra}", flush=True)

    def files(self):
        return [n for n in self.nodes.values() if isinstance(n, File)]

    def pending_names(self):
        return sum(
            1
            for d in self.nodes.values()
            if isinstance(d, Dir)
            and {n: i for n, i in d.entries.items() if isinstance(self.nodes[i], File)}
            != {n: i for n, i in d.durable.items() if isinstance(self.nodes[i], File)}
        )

    def cut(self, keep, seed):
        """The power goes: a random share `keep` of the unsynced blocks had been written back,
        the rest is lost with this process."""
        self.frozen = True
        rng = random.Random(seed)
        report = []
        for f in self.files():
            if not f.dirty:
                continue
            kept = 0
            for b in sorted(f.dirty):
                n = min(BLOCK, f.size - b * BLOCK)
                if n > 0 and rng.random() < keep:
                    os.pwrite(f.fd, f.dirty[b][:n], b * BLOCK)
                    kept += 1
            report.append(f"{f.label()}:{len(f.dirty) - kept}:{kept}")
        line = (
            f"cut blocked={','.join(self.blocked) or '-'} unsynced={','.join(report) or '-'}"
            f" pending_names={self.pending_names()}"
        )
        print(line, flush=True)
        os._exit(0)

    def stats(self):
        ops = ",".join(f"{k}:{v}" for k, v in sorted(self.ops.items())) or "-"
        unsynced = ",".join(f"{f.label()}:{len(f.dirty)}" for f in self.files() if f.dirty)
        return f"stats ops={ops} unsynced={unsynced or '-'} pending_names={self.pending_names()}"

    def command(self, words):
        if words == ["stats"]:
            print(self.stats(), flush=True)
        elif len(words) == 3 and words[0] == "arm" and words[1] in ("before", "after"):
            self.armed = (words[1], words[2].encode())
            print("armed", flush=True)
        elif words == ["freeze"]:
            self.freeze("command")
        elif len(words) == 3 and words[0] == "cut":
            self.cut(float(words[1]), int(words[2]))
        else:
            print(f"error unknown command {' '.join(words)!r}", flush=True)

    async def control(self):
        stream = trio.lowlevel.FdStream(os.dup(0))
        pending = b""
        while True:
            data = await stream.receive_some(65536)
            if not data:
                # The test is gone: drop what is volatile, as a cut would, and leave no mount.
                subprocess.run(["fusermount3", "-u", "-z", self.mountpoint], check=False)
                os._exit(0)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self.command(line.decode().split())

    async def serve(self):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.control)
            await pyfuse3.main()

    # -- the FUSE operations ------------------------------------------------------------------

    def node(self, ino):
        n = self.nodes.get(ino)
        if n is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return n

    def dir(self, ino):
        d = self.node(ino)
        if not isinstance(d, Dir):
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        return d

    def file(self, ino):
        f = self.node(ino)
        if not isinstance(f, File):
            raise pyfuse3.FUSEError(errno.EISDIR)
        return f

    def attrs(self, node):
        a = pyfuse3.EntryAttributes()
        if isinstance(node, File):
            st = os.fstat(node.fd)
            a.st_size = node.size
            a.st_nlink = len(node.names)
            a.st_mtime_ns = a.st_ctime_ns = node.mtime_ns
        else:
            st = os.stat(node.path)
            a.st_size = st.st_size
            a.st_nlink = st.st_nlink
            a.st_mtime_ns = st.st_mtime_ns
            a.st_ctime_ns = st.st_ctime_ns
        a.st_ino = node.ino
        a.st_mode = st.st_mode
        a.st_uid = st.st_uid
        a.st_gid = st.st_gid
        a.st_atime_ns = st.st_atime_ns
        a.st_blksize = BLOCK
        a.st_blocks = (a.st_size + 511) // 512
        a.entry_timeout = a.attr_timeout = TIMEOUT
        return a

    def check_name(self, parent, name):
        if parent == ROOT and name == HIDDEN:
            raise pyfuse3.FUSEError(errno.EPERM)

    @handler("lookup")
    async def lookup(self, parent, name, ctx):
        ino = self.dir(parent).entries.get(name)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self.attrs(self.nodes[ino])

    async def forget(self, inode_list):
        pass  # nodes live as long as the mount

    @handler("getattr")
    async def getattr(self, ino, ctx):
        return self.attrs(self.node(ino))

    @handler("setattr")
    async def setattr(self, ino, attr, fields, fh, ctx):
        node = self.node(ino)
        if fields.update_size:
            self.truncate(self.file(ino), attr.st_size)
        target = node.fd if isinstance(node, File) else node.path
        if fields.update_mode:
            os.chmod(target, stat.S_IMODE(attr.st_mode))
        if fields.update_uid or fields.update_gid:
            uid = attr.st_uid if fields.update_uid else -1
            gid = attr.st_gid if fields.update_gid else -1
            os.chown(target, uid, gid)
        if fields.update_mtime and isinstance(node, File):
            node.mtime_ns = attr.st_mtime_ns
        return self.attrs(node)

    @handler("open")
    async def open(self, ino, flags, ctx):
        f = self.file(ino)
        if flags & os.O_TRUNC:
            self.truncate(f, 0)
        return pyfuse3.FileInfo(fh=ino, keep_cache=False)

    @handler("create")
    async def create(self, parent, name, mode, flags, ctx):
        d = self.dir(parent)
        self.check_name(parent, name)
        ino = d.entries.get(name)
        if ino is not None:
            if flags & os.O_EXCL:
                raise pyfuse3.FUSEError(errno.EEXIST)
            f = self.file(ino)
            if flags & os.O_TRUNC:
                self.truncate(f, 0)
        else:
            f = self.new_file(mode, ctx)
            d.entries[name] = f.ino
            f.names.add((parent, name))
        return pyfuse3.FileInfo(fh=f.ino, keep_cache=False), self.attrs(f)

    @handler("read")
    async def read(self, fh, off, size):
        return self.read_range(self.file(fh), off, size)

    @handler("write")
    async def write(self, fh, off, buf):
        self.write_range(self.file(fh), off, buf)
        return len(buf)

    @handler("flush")
    async def flush(self, fh):
        pass  # close(2): not a durability point

    @handler("release")
    async def release(self, fh):
        pass

    @handler("fsync")
    async def fsync(self, fh, datasync):
        f = self.file(fh)
        armed = self.armed
        hit = armed is not None and any(n.endswith(armed[1]) for _, n in f.names)
        if hit and armed[0] == "before":
            self.freeze("fsync-before", f" file={f.label()}")
            await self.hold("fsync", fh)
        self.sync_file(f)
        if hit:
            self.freeze("fsync-after", f" file={f.label()}")
            await self.hold("fsync", fh)

    @handler("opendir")
    async def opendir(self, ino, ctx):
        self.dir(ino)
        return ino

    @handler("readdir")
    async def readdir(self, fh, start_id, token):
        d = self.dir(fh)
        names = sorted(d.entries)
        for i in range(start_id, len(names)):
            attrs = self.attrs(self.nodes[d.entries[names[i]]])
            if not pyfuse3.readdir_reply(token, names[i], attrs, i + 1):
                break

    @handler("releasedir")
    async def releasedir(self, fh):
        pass

    @handler("fsyncdir")
    async def fsyncdir(self, fh, datasync):
        self.sync_dir(self.dir(fh))

    @handler("mkdir")
    async def mkdir(self, parent, name, mode, ctx):
        d = self.dir(parent)
        self.check_name(parent, name)
        if name in d.entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        path = os.path.join(d.path, name)
        os.mkdir(path, stat.S_IMODE(mode))
        child = Dir(self.new_ino(), path)
        self.nodes[child.ino] = child
        d.entries[name] = d.durable[name] = child.ino
        return self.attrs(child)

    @handler("rmdir")
    async def rmdir(self, parent, name, ctx):
        d = self.dir(parent)
        child = self.dir(d.entries.get(name, 0))
        if child.entries or child.durable:
            raise pyfuse3.FUSEError(errno.ENOTEMPTY)
        os.rmdir(child.path)
        del d.entries[name]
        del d.durable[name]

    @handler("unlink")
    async def unlink(self, parent, name, ctx):
        d = self.dir(parent)
        f = self.file(d.entries.get(name, 0))
        del d.entries[name]
        f.names.discard((parent, name))

    @handler("rename")
    async def rename(self, parent_old, name_old, parent_new, name_new, flags, ctx):
        if flags & pyfuse3.RENAME_EXCHANGE:
            raise pyfuse3.FUSEError(errno.EINVAL)
        src, dst = self.dir(parent_old), self.dir(parent_new)
        self.check_name(parent_new, name_new)
        ino = src.entries.get(name_old)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if isinstance(self.nodes[ino], Dir):
            raise pyfuse3.FUSEError(errno.EXDEV)  # not modelled; mv(1) copies instead
        f = self.nodes[ino]
        old = dst.entries.get(name_new)
        if old is not None:
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise pyfuse3.FUSEError(errno.EEXIST)
            if old == ino:
                return
            self.file(old).names.discard((parent_new, name_new))
        del src.entries[name_old]
        f.names.discard((parent_old, name_old))
        dst.entries[name_new] = ino
        f.names.add((parent_new, name_new))

    @handler("link")
    async def link(self, ino, parent_new, name_new, ctx):
        f = self.file(ino)
        d = self.dir(parent_new)
        self.check_name(parent_new, name_new)
        if name_new in d.entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        d.entries[name_new] = ino
        f.names.add((parent_new, name_new))
        return self.attrs(f)

    @handler("statfs")
    async def statfs(self, ctx):
        s = os.statvfs(self.backing)
        out = pyfuse3.StatvfsData()
        for field in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files",
                      "f_ffree", "f_favail", "f_namemax"):
            setattr(out, field, getattr(s, field))
        return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: lazyfs.py BACKING MOUNTPOINT")
    backing, mountpoint = os.fsencode(os.path.abspath(sys.argv[1])), sys.argv[2]
    os.umask(0)  # modes as the callers ask for them
    fs = LazyFs(backing, mountpoint)
    options = set(pyfuse3.default_options)
    options.add("fsname=lazyfs")
    pyfuse3.init(fs, mountpoint, options)
    print("ready", flush=True)
    trio.run(fs.serve)


if __name__ == "__main__":
    main()
