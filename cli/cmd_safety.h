/*
 * cmd_safety.h - gantryctl's commands for the safeguards (gantryctl(1)):
 * alarms, alarm-state, blockers, override, hold and unhold, over
 * /v1/alarms, /v1/blockers and /v1/holds.  cmd_exec.c dispatches to them
 * with a run (cmd_run.h); each returns the exit status.
 */
#ifndef GANTRY_CMD_SAFETY_H
#define GANTRY_CMD_SAFETY_H

struct run;

/* alarms: the table of GET /v1/alarms. */
int cmd_safety_alarms(struct run *r, int nargs, char *const *args);

/* alarm-state NAME STATE [--reason R]: PUT /v1/alarms/NAME/state. */
int cmd_safety_alarm_state(struct run *r, int nargs, char *const *args);

/* blockers: the tables of GET /v1/blockers. */
int cmd_safety_blockers(struct run *r, int nargs, char *const *args);

/* override EXEC:BLOCKER --reason R [--expires-in D]. */
int cmd_safety_override(struct run *r, int nargs, char *const *args);

/* hold all | service NAME | pipeline NAME --reason R. */
int cmd_safety_hold(struct run *r, int nargs, char *const *args);

/* unhold ID [--reason R]. */
int cmd_safety_unhold(struct run *r, int nargs, char *const *args);

#endif /* GANTRY_CMD_SAFETY_H */
