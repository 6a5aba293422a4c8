# host.mk — the machine you are on, natively; builds into build/.
include boards/posix.mk
BOARD_H =
