/** Marks dist/ as built now (see build-stamp.mjs). */
export declare function stampBuild(root: string): void;
