// Preloaded (`node -r`) into a command the startup benchmark times: prints the process's CPU time
// (user + system) on stderr as it exits, so start-up cost can be compared apart from the machine's
// load, which inflates wall time but not the CPU a process uses.
process.once("exit", () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\nBENCH_CPU_MS=${(user + system) / 1000}\n`);
});
