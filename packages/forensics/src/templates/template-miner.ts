/**
 * Online log template mining, after Drain (He et al., ICWS 2017): messages are masked
 * (variable-masking.ts), routed through a fixed-depth prefix tree keyed by token count and the
 * leading tokens, and joined to the most similar group in the leaf, whose template generalises
 * (differing positions become `<*>`); a message too unlike every group starts a new one.
 *
 * Differences from the paper: masked tokens count as agreeing when both sides are wildcards, a
 * difference at a constant that many messages shared costs double, exact messages are cached,
 * and memory is bounded (least recently used groups are dropped beyond `maxTemplates`).
 */
import { hasWildcard, maskMessage, WILDCARD } from './variable-masking.js';

export interface MinedTemplate {
  /** The group's id (`T1`, `T2`, …): stable for the run even when the template text generalises. */
  readonly templateId: string;
  /** The group's template at this moment. */
  readonly template: string;
}

export interface TemplateSummary {
  readonly templateId: string;
  readonly template: string;
  /** Messages mined into the group. */
  readonly count: number;
}

export interface TemplateMinerOptions {
  /** Share of positions that must agree for a message to join a group (0..1); default 0.7. */
  readonly similarity?: number;
  /** Leading tokens used to route a message in the prefix tree; default 2. */
  readonly prefixTokens?: number;
  /** Children per prefix-tree node before new tokens go to the wildcard branch; default 100. */
  readonly maxChildren?: number;
  /** Groups kept; beyond it the least recently used are dropped; default 50,000. */
  readonly maxTemplates?: number;
  /** Tokens of a message considered; the rest is one trailing `<*>`; default 256. */
  readonly maxTokens?: number;
  /** Exact messages remembered to skip masking and matching when they repeat; default 100,000. */
  readonly cacheSize?: number;
}

export interface TemplateMiner {
  /**
   * Mines one message: returns its group's id and current template.
   * @example miner.mine('DB connection timeout after 3012ms') // { templateId: 'T1', template: 'DB connection timeout after <*>' }
   */
  mine(message: string): MinedTemplate;
  /** Every group kept, in order of creation, with its current template. */
  templates(): ReadonlyArray<TemplateSummary>;
}

interface Group {
  readonly id: string;
  readonly seq: number;
  readonly tokens: string[];
  /** Tokens of the template that are not wildcards; kept up to date as it generalises. */
  constants: number;
  text: string | undefined;
  result: MinedTemplate | undefined;
  count: number;
  lastSeen: number;
  alive: boolean;
  readonly leaf: Group[];
}

interface TreeNode {
  readonly children: Map<string, TreeNode>;
  leaf: Group[] | undefined;
}

/**
 * A group that has absorbed this many messages has constants every one of them shared: a message
 * differing there is more likely another event (`client SPP.` after 600 × `client WindowsUpdateAgent.`)
 * than a variable that never varied, so such a difference counts twice.
 */
const STABLE_COUNT = 50;

/** Cache lookups per check of the hit rate. */
const CACHE_PROBE = 8192;

/** Messages longer than this are not cached (the key would cost more than mining). */
const MAX_CACHED_LENGTH = 2048;

function newNode(): TreeNode {
  return { children: new Map(), leaf: undefined };
}

/**
 * Creates an online template miner.
 * @example const miner = createTemplateMiner(); miner.mine('user 42 logged in').template // 'user <*> logged in'
 */
export function createTemplateMiner(options: TemplateMinerOptions = {}): TemplateMiner {
  const similarity = options.similarity ?? 0.7;
  const prefixTokens = Math.max(0, options.prefixTokens ?? 2);
  const maxChildren = Math.max(1, options.maxChildren ?? 100);
  const maxTemplates = Math.max(1, options.maxTemplates ?? 50_000);
  const maxTokens = Math.max(1, options.maxTokens ?? 256);
  const cacheSize = Math.max(0, options.cacheSize ?? 100_000);

  const roots = new Map<number, TreeNode>();
  const groups = new Map<number, Group>();
  const cache = new Map<string, Group>();
  let nextSeq = 1;
  let tick = 0;
  let caching = cacheSize > 0;
  let cacheOffUntil = 0;
  let lookups = 0;
  let hits = 0;

  function leafFor(tokens: readonly string[], create: boolean): Group[] | undefined {
    const n = tokens.length;
    let root = roots.get(n);
    if (root === undefined) {
      if (!create) return undefined;
      root = newNode();
      roots.set(n, root);
    }
    let node: TreeNode = root;
    const depth = Math.min(prefixTokens, n);
    for (let i = 0; i < depth; i++) {
      const token = tokens[i] as string;
      const key = hasWildcard(token) ? WILDCARD : token;
      let child: TreeNode | undefined = node.children.get(key);
      if (child === undefined && key !== WILDCARD) {
        if (create && node.children.size < maxChildren) {
          child = newNode();
          node.children.set(key, child);
        } else {
          child = node.children.get(WILDCARD);
        }
      }
      if (child === undefined) {
        if (!create) return undefined;
        child = newNode();
        node.children.set(WILDCARD, child);
      }
      node = child;
    }
    if (node.leaf === undefined && create) node.leaf = [];
    return node.leaf;
  }

  /** Best group of the leaf for the tokens, or undefined when none is similar enough. */
  function bestMatch(leaf: readonly Group[], tokens: readonly string[]): Group | undefined {
    const n = tokens.length;
    let best: Group | undefined;
    let bestSim = -1;
    let bestWild = -1;
    for (const g of leaf) {
      const t = g.tokens;
      // a constant position that many messages agreed on is strong evidence: differing there costs more
      const penalty = g.count >= STABLE_COUNT ? 1 : 0;
      let same = 0;
      for (let i = 0; i < n; i++) {
        const a = t[i] as string;
        // equal tokens agree (two wildcards too); a template wildcard against a word is neutral
        if (a === tokens[i]) same++;
        else if (a !== WILDCARD) same -= penalty;
      }
      const sim = n === 0 ? 1 : same / n;
      const wild = n - g.constants;
      if (sim > bestSim || (sim === bestSim && wild > bestWild)) {
        best = g;
        bestSim = sim;
        bestWild = wild;
      }
    }
    return best !== undefined && bestSim >= similarity ? best : undefined;
  }

  function generalise(g: Group, tokens: readonly string[]): void {
    const t = g.tokens;
    let changed = false;
    for (let i = 0; i < t.length; i++) {
      if (t[i] !== tokens[i] && t[i] !== WILDCARD) {
        if (!hasWildcard(t[i] as string)) g.constants--;
        t[i] = WILDCARD;
        changed = true;
      }
    }
    if (changed) {
      g.text = undefined;
      g.result = undefined;
    }
  }

  function evict(): void {
    // drop the least recently used tenth in one go: amortised O(1) per new group
    const victims = [...groups.values()].sort((a, b) => a.lastSeen - b.lastSeen);
    const drop = Math.max(1, Math.floor(maxTemplates / 10));
    for (let i = 0; i < drop && i < victims.length; i++) {
      const g = victims[i] as Group;
      g.alive = false;
      groups.delete(g.seq);
      const at = g.leaf.indexOf(g);
      if (at >= 0) g.leaf.splice(at, 1);
    }
  }

  function resultOf(g: Group): MinedTemplate {
    if (g.result === undefined) {
      g.text ??= g.tokens.join(' ');
      g.result = { templateId: g.id, template: g.text };
    }
    return g.result;
  }

  function mine(message: string): MinedTemplate {
    tick++;
    if (!caching && tick >= cacheOffUntil && cacheSize > 0) caching = true;
    const cacheable = caching && message.length <= MAX_CACHED_LENGTH;
    if (cacheable) {
      const hit = cache.get(message);
      if (++lookups === CACHE_PROBE) {
        // mostly unique messages: hashing and storing them costs more than it saves, pause
        if (hits * 8 < lookups) {
          caching = false;
          cacheOffUntil = tick + CACHE_PROBE * 16;
          cache.clear();
        }
        lookups = 0;
        hits = 0;
      }
      if (hit?.alive === true) {
        hits++;
        hit.count++;
        hit.lastSeen = tick;
        return resultOf(hit);
      }
    }
    const tokens = maskMessage(message, maxTokens);
    const leaf = leafFor(tokens, true) as Group[];
    let g = bestMatch(leaf, tokens);
    if (g === undefined) {
      if (groups.size >= maxTemplates) evict();
      let constants = 0;
      for (const t of tokens) if (!hasWildcard(t)) constants++;
      const seq = nextSeq++;
      g = {
        id: `T${seq}`,
        seq,
        tokens,
        constants,
        text: undefined,
        result: undefined,
        count: 0,
        lastSeen: tick,
        alive: true,
        leaf,
      };
      leaf.push(g);
      groups.set(seq, g);
    } else {
      generalise(g, tokens);
    }
    g.count++;
    g.lastSeen = tick;
    if (cacheable) {
      if (cache.size >= cacheSize) cache.clear();
      cache.set(message, g);
    }
    return resultOf(g);
  }

  return {
    mine,
    templates() {
      const out: TemplateSummary[] = [];
      for (const g of groups.values()) {
        out.push({ templateId: g.id, template: resultOf(g).template, count: g.count });
      }
      return out;
    },
  };
}
