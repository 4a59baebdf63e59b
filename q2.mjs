import { retry, timeout, wrap } from '@faultline/resilience';
const fn = async () => 42;
const t = timeout(1000);
let s = performance.now();
for (let i = 0; i < 3_000_000; i++) await t.execute(fn);
console.log((performance.now()-s)/3e6*1e6);
s = performance.now();
for (let i = 0; i < 3_000_000; i++) await fn();
console.log((performance.now()-s)/3e6*1e6);
